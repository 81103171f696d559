import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import { AppError } from '../errors.js';
import { safeEqual } from '../crypto/keyed-hash.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The CSRF token is an HMAC of the session id: nothing to store, and it dies
 * with the session (every privilege change rotates the id and so the token).
 */
export function csrfToken(hmac: KeyedHasher, request: FastifyRequest): string {
  const id = request.session?.sessionId;
  // Memoized: every answer of a session carries the same token.
  return id ? hmac.memoized('csrf')(id) : '';
}

function presentedToken(request: FastifyRequest): string | undefined {
  const h = request.headers['x-csrf-token'] ?? request.headers['x-xsrf-token'];
  if (typeof h === 'string' && h !== '') return h;
  const body = request.body as Record<string, unknown> | undefined;
  const b = body && typeof body === 'object' ? body.csrf_token : undefined;
  return typeof b === 'string' && b !== '' ? b : undefined;
}

/** README (decisions) and openapi.yaml (Authentication): Origin check on every state change, CSRF token on those of signed-in sessions. */
export function registerCsrf(app: FastifyInstance, deps: { config: Config; hmac: KeyedHasher }): void {
  const allowed = new Set(deps.config.CORS_ORIGINS.map((o) => o.replace(/\/$/, '')));

  app.addHook('onRequest', async (request) => {
    if (!STATE_CHANGING.has(request.method)) return;
    // No route, nothing to change: an unknown path stays 404 and a wrong method 405 (openapi.yaml x-unmatched-responses).
    if (request.is404) return;
    const origin = request.headers.origin;
    // Non-browser clients send no Origin; browsers always do on cross-site POSTs.
    if (origin === undefined) return;
    const own = `${request.protocol}://${request.host}`;
    if (origin !== own && !allowed.has(origin)) throw new AppError('ORIGIN_NOT_ALLOWED');
  });

  app.addHook('preHandler', async (request) => {
    if (!STATE_CHANGING.has(request.method)) return;
    if (request.routeOptions.config.csrfExempt) return;
    // Only a cookie-authenticated caller can be forged; token callers and anonymous ones cannot.
    if (request.auth?.via !== 'session') return;
    const given = presentedToken(request);
    if (!given) throw new AppError('CSRF_TOKEN_MISSING');
    const id = request.session.sessionId;
    if (!safeEqual(deps.hmac.memoized('csrf')(id), given)) throw new AppError('CSRF_TOKEN_INVALID');
  });
}
