import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, Session } from 'fastify';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { SessionUser } from '../db/session-store.js';

export interface Auth {
  user: SessionUser;
  /** How the caller proved itself: the session cookie, or a token (Authentication-Token or Authorization: Bearer). */
  via: 'session' | 'token';
  /** Time of the sign-in (or /verify) that freshness is measured from. */
  authAt: Date;
  authnMethods: string[];
  /** When the sign-in passed its second factor (GET /me `tf_authenticated_at`); null if it did not. */
  tfAt?: Date | null;
  /** The sign-in this session or token belongs to: signing out revokes its tokens (auth/token-rows.repository.ts). */
  signinId?: string;
  /** A token caller's token id (its auth_tokens row), absent for stateless tokens. */
  tokenId?: string;
  /** A token caller's token expiry. */
  expiresAt?: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
  interface FastifyContextConfig {
    /** Routes that refuse signed-in callers need no CSRF token (nothing to forge). */
    csrfExempt?: boolean;
    /** Success body is sent as-is (`{}` for /logout) without csrf_token. */
    noCsrfToken?: boolean;
    /** Operations endpoints answer without the envelope. */
    envelope?: boolean;
  }
}

export const TOKEN_HEADER = 'authentication-token';

/** Who an Authentication-Token names, or null when it names nobody (auth/token-auth.ts). */
export type TokenResolver = (token: string) => Promise<Auth | null>;

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a token68. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The token a request presents (openapi.yaml, Authentication): the
 * Authentication-Token header, else `Authorization: Bearer`. `invalid` when it
 * presents one that cannot be a token (a malformed Bearer header): the caller
 * is then anonymous, so 401 wherever a signed-in user is required. Another
 * Authorization scheme (`Basic`, …) is not ours and is ignored.
 */
export function presentedToken(headers: Record<string, string | string[] | undefined>): string | 'invalid' | null {
  const header = headers[TOKEN_HEADER];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = headers.authorization;
  if (typeof authorization !== 'string' || !/^bearer(\s|$)/i.test(authorization)) return null;
  return BEARER.exec(authorization)?.[1] ?? 'invalid';
}

/** A signed-in session's sign-in id; sessions from before sign-in ids get one derived from their own id. */
function sessionSigninId(s: Session): string {
  return typeof s.signinId === 'string'
    ? s.signinId
    : createHash('sha256').update(String(s.sessionId)).digest('hex').slice(0, 32);
}

/** Resolves who is calling once per request: a token first (either header), then the session. */
export function registerAuthContext(app: FastifyInstance, deps: { resolveToken: TokenResolver }): void {
  app.decorateRequest('auth', null);
  app.addHook('preHandler', async (request) => {
    const token = presentedToken(request.headers);
    if (token !== null) {
      request.auth = token === 'invalid' ? null : await deps.resolveToken(token);
      return;
    }
    const s = request.session;
    if (s && s.userId !== undefined && s._user) {
      request.auth = {
        user: s._user,
        via: 'session',
        authAt: new Date(s.authAt ?? 0),
        authnMethods: s.authnMethods ?? ['password'],
        tfAt: typeof s.tfAt === 'number' ? new Date(s.tfAt) : null,
        signinId: sessionSigninId(s),
      };
    }
  });
}

export function requireAuth(request: FastifyRequest): Auth {
  if (!request.auth) throw new AppError('UNAUTHENTICATED');
  return request.auth;
}

/** README (SECURITY_FRESHNESS): sensitive changes need a sign-in or /verify within SECURITY_FRESHNESS (+ grace). */
export function requireFresh(request: FastifyRequest, config: Config, clock: Clock): Auth {
  const auth = requireAuth(request);
  const limitMs = (config.SECURITY_FRESHNESS + config.SECURITY_FRESHNESS_GRACE_PERIOD) * 1000;
  if (clock.now().getTime() - auth.authAt.getTime() > limitMs) {
    throw new AppError('REAUTHENTICATION_REQUIRED', { extra: { reauth_required: true } });
  }
  return auth;
}
