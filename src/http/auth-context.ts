import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { SessionUser } from '../db/session-store.js';

export interface Auth {
  user: SessionUser;
  /** How the caller proved itself: the session cookie or the Authentication-Token header. */
  via: 'session' | 'token';
  /** Time of the sign-in (or /verify) that freshness is measured from. */
  authAt: Date;
  authnMethods: string[];
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

/** Resolves who is calling once per request: token header first, then the session. */
export function registerAuthContext(app: FastifyInstance, deps: { resolveToken: TokenResolver }): void {
  app.decorateRequest('auth', null);
  app.addHook('preHandler', async (request) => {
    const header = request.headers[TOKEN_HEADER];
    if (typeof header === 'string' && header !== '') {
      request.auth = await deps.resolveToken(header);
      return;
    }
    const s = request.session;
    if (s && s.userId !== undefined && s._user) {
      request.auth = {
        user: s._user,
        via: 'session',
        authAt: new Date(s.authAt ?? 0),
        authnMethods: s.authnMethods ?? ['password'],
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
