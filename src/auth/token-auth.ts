import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import type { Auth, TokenResolver } from '../http/auth-context.js';
import { policySubject } from '../policy/policy.repository.js';
import { findTokenHolder } from './token-rows.repository.js';
import { peekAuthToken, verifyAuthToken } from './tokens.js';

export interface TokenResolverDeps {
  db: Kysely<DB>;
  hmac: KeyedHasher;
  clock: Clock;
  /** SECURITY_TOKEN_STATELESS: tokens without a row are accepted (else refused: they could not be revoked). */
  stateless?: boolean;
}

/**
 * The caller a token names (openapi.yaml, Authentication; docs/backend-services.md):
 * the user, if active, only while the signature over the user's current
 * fs_uniquifier holds, the token has not expired and, for a token with an id,
 * its auth_tokens row is live (not revoked by a sign-out, not expired). The
 * row is read in the same statement as the user, so a revocation on any
 * instance holds on every instance at the next request. Passed to
 * registerAuthContext by buildApp, so http/ does not know the token format;
 * token introspection resolves tokens through the same function.
 */
export function tokenResolver(deps: TokenResolverDeps): TokenResolver {
  return (token) => authFromToken(deps, token);
}

async function authFromToken(deps: TokenResolverDeps, token: string): Promise<Auth | null> {
  const claimed = peekAuthToken(token);
  if (!claimed) return null;
  if (claimed.t === undefined && !deps.stateless) return null;
  const holder = await findTokenHolder(deps.db, claimed.u, claimed.t ?? null);
  if (!holder || !holder.active) return null;
  const now = deps.clock.now();
  const payload = verifyAuthToken(deps.hmac, token, holder.fs_uniquifier, now);
  if (!payload) return null;
  if (payload.t !== undefined) {
    const live = holder.token_id !== null && holder.revoked_at === null && holder.token_expires_at! > now;
    if (!live) return null;
  }
  const user = {
    id: holder.id,
    email: holder.email,
    fs_uniquifier: holder.fs_uniquifier,
    tf_primary_method: holder.tf_primary_method,
    policy: policySubject(holder),
  };
  // Tokens from before `m` was signed into them: the methods are guessed from the user's factor, as before.
  const methods = payload.m ?? (user.tf_primary_method ? ['password', user.tf_primary_method] : ['password']);
  const auth: Auth = {
    user,
    via: 'token',
    authAt: new Date(payload.i * 1000),
    authnMethods: methods,
    tfAt: payload.f !== undefined ? new Date(payload.f * 1000) : null,
    expiresAt: new Date(payload.e * 1000),
  };
  if (payload.t !== undefined) {
    auth.tokenId = payload.t;
    auth.signinId = holder.signin_id!;
  }
  return auth;
}
