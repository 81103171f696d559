import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { publicUser, setRefreshCookie } from '../auth/signin.js';
import type { Config } from '../config.js';
import { ValidationError } from '../errors.js';
import { cookiesSecure } from '../http/session.js';
import { readBody } from '../http/input.js';
import { exchangeRefreshToken, type RefreshDeps } from './refresh.service.js';

/**
 * The refresh token a request presents: its cookie when
 * SECURITY_REFRESH_TOKEN_COOKIE_NAME is set (and then only the cookie, as in
 * Flask-Security), else `refresh_token` in the JSON body.
 */
export function refreshTokenPresented(
  request: FastifyRequest,
  config: Config,
): { token: string | undefined; fromCookie: boolean } {
  const name = config.SECURITY_REFRESH_TOKEN_COOKIE_NAME;
  if (name) {
    const cookie = request.cookies[name];
    return { token: cookie || undefined, fromCookie: Boolean(cookie) };
  }
  const body = request.body as Record<string, unknown> | null | undefined;
  const v = body && typeof body === 'object' ? body.refresh_token : undefined;
  return { token: typeof v === 'string' && v !== '' && v.length <= 512 ? v : undefined, fromCookie: false };
}

export function clearRefreshCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(config.SECURITY_REFRESH_TOKEN_COOKIE_NAME, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: cookiesSecure(config),
  });
}

/**
 * POST /refresh-token (SECURITY_REFRESH_TOKEN; openapi.yaml): a new auth token
 * and the next refresh token of the family. No CSRF token: the caller is not
 * signed in by a cookie (a browser's refresh cookie is SameSite=Strict and the
 * Origin check applies).
 */
export async function refreshRoutes(app: FastifyInstance, deps: RefreshDeps): Promise<void> {
  const { config } = deps;
  app.post('/refresh-token', { config: { csrfExempt: true } }, async (request, reply) => {
    const body = readBody(request.body);
    const given = config.SECURITY_REFRESH_TOKEN_COOKIE_NAME
      ? refreshTokenPresented(request, config).token
      : body.string('refresh_token', { max: 512 });
    body.done();
    if (!given) throw new ValidationError([{ field: 'refresh_token', key: 'REQUIRED' }]);
    const out = await exchangeRefreshToken(deps, given, auditContext(request));
    const tokens: { authentication_token: string; refresh_token?: string } = { authentication_token: out.authToken };
    if (config.SECURITY_REFRESH_TOKEN_COOKIE_NAME) setRefreshCookie(reply, config, out.refreshToken);
    else tokens.refresh_token = out.refreshToken;
    return { user: publicUser(out.user, tokens) };
  });
}
