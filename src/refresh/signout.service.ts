import type { Auth } from '../http/auth-context.js';
import { revokeSignIn } from '../auth/token-rows.repository.js';
import { revokeRefreshToken, type RefreshDeps } from './refresh.service.js';

/**
 * POST /logout ends the caller's sign-in everywhere (docs/backend-services.md):
 * every auth token and refresh token it issued is revoked. With
 * SECURITY_TOKEN_STATELESS, auth tokens have no rows and live until they expire
 * (Flask-Security's behaviour); a refresh token presented (body or cookie) is
 * revoked either way, as in Flask-Security 5.9.
 */
export async function revokeOnSignOut(
  deps: RefreshDeps,
  auth: Pick<Auth, 'signinId'> | null,
  refreshToken: string | undefined,
): Promise<void> {
  if (auth?.signinId && !deps.config.SECURITY_TOKEN_STATELESS) {
    await revokeSignIn(deps.db, auth.signinId, deps.clock.now());
  }
  if (refreshToken) await revokeRefreshToken(deps, refreshToken);
}
