import { peekAuthToken } from '../auth/tokens.js';

/**
 * Who a token names, as the request path decides it: buildOperatorApp passes
 * the same resolver the API's auth context uses (auth/token-auth.ts), so any
 * rule that refuses a token there (expiry, fs_uniquifier rotation, a
 * deactivated user, revocation) refuses it here too.
 */
export type ResolveToken = (token: string) => Promise<{
  user: { id: number; email: string };
  authAt: Date;
  authnMethods: string[];
} | null>;

/** RFC 7662 §2.2: only `active` for a token that is not (expired, forged, revoked, garbage alike). */
export type Introspection =
  | { active: false }
  | {
      active: true;
      sub: string;
      username: string;
      token_type: 'Authentication-Token';
      iat: number;
      exp: number;
      amr: string[];
    };

const INACTIVE = Object.freeze({ active: false as const });

export async function introspect(resolve: ResolveToken, token: string): Promise<Introspection> {
  if (token === '' || token.length > 4096) return INACTIVE;
  const auth = await resolve(token);
  // The expiry is the token's own claim, read once the resolver has verified its signature.
  const claims = auth ? peekAuthToken(token) : null;
  if (!auth || !claims) return INACTIVE;
  return {
    active: true,
    sub: String(auth.user.id),
    username: auth.user.email,
    token_type: 'Authentication-Token',
    iat: Math.floor(auth.authAt.getTime() / 1000),
    exp: claims.e,
    amr: [...auth.authnMethods],
  };
}
