import { randomBytes } from 'node:crypto';
import type { AuditContext, Auditor } from '../audit/audit.js';
import { issueAccessToken, type SignInGrant, type TokenIssueDeps } from '../auth/token-issue.js';
import { revokeSignIn } from '../auth/token-rows.repository.js';
import { AppError } from '../errors.js';
import { findRefreshFamily, insertRefreshFamily, rotateFamily } from './refresh.repository.js';
import { encodeRefreshToken, peekRefreshToken, refreshSignatureValid } from './refresh-token.js';

export type RefreshDeps = TokenIssueDeps & { audit: Auditor };

/** Flask-Security 5.9's reasons (RefreshTokenErrors), sent in the message of REFRESH_TOKEN_INVALID. */
type Reason = 'INVALID' | 'EXPIRED' | 'NOT_FOUND' | 'GEN_MISMATCH' | 'REVOKED';

function refused(reason: Reason): AppError {
  return new AppError('REFRESH_TOKEN_INVALID', { field: 'refresh_token', params: { reason } });
}

/** A new refresh token family for a sign-in (issued beside its auth token when SECURITY_REFRESH_TOKEN is on). */
export async function issueRefreshToken(
  deps: TokenIssueDeps,
  user: { id: number; fs_uniquifier: string },
  grant: SignInGrant,
): Promise<string> {
  const now = deps.clock.now();
  const family = randomBytes(16).toString('hex');
  await insertRefreshFamily(deps.db, {
    family,
    userId: user.id,
    signinId: grant.signinId,
    authAt: grant.authAt,
    tfAt: grant.tfAt,
    methods: grant.methods,
    now,
    expiresAt: new Date(now.getTime() + deps.config.SECURITY_REFRESH_TOKEN_MAX_AGE * 1000),
  });
  return encodeRefreshToken(deps.hmac, { u: user.id, f: family, g: 1 }, user.fs_uniquifier);
}

/** The family a token names, if it is genuinely ours (signature over the user's fs_uniquifier). */
async function familyOf(deps: RefreshDeps, token: string) {
  const claims = peekRefreshToken(token);
  if (!claims) return { claims: null, row: undefined };
  const row = await findRefreshFamily(deps.db, claims.f);
  const genuine = row && row.user_id === claims.u && refreshSignatureValid(deps.hmac, token, row.fs_uniquifier);
  return { claims, row: genuine ? row : undefined, found: row !== undefined };
}

/**
 * Reuse of a superseded refresh token: a thief and the owner both hold it, and
 * nobody can tell which is which, so the whole sign-in ends (its refresh
 * family and every auth token it issued). A concurrent burst of one token is
 * the same case: one request rotates it, the rest are reuse.
 */
async function reused(deps: RefreshDeps, userId: number, signinId: string, ctx: AuditContext): Promise<never> {
  await revokeSignIn(deps.db, signinId, deps.clock.now());
  await deps.audit.record(deps.db, 'token.refresh_reused', userId, ctx);
  throw refused('GEN_MISMATCH');
}

/**
 * POST /refresh-token: the current generation of a live family is exchanged,
 * once, for a new auth token and the next refresh token of the family.
 */
export async function exchangeRefreshToken(
  deps: RefreshDeps,
  token: string,
  ctx: AuditContext,
): Promise<{ user: { id: number; email: string }; authToken: string; refreshToken: string }> {
  const { claims, row, found } = await familyOf(deps, token);
  if (!claims) throw refused('INVALID');
  if (!row) throw refused(found ? 'INVALID' : 'NOT_FOUND');
  if (!row.active) throw refused('INVALID');
  if (row.gen !== claims.g) return reused(deps, row.user_id, row.signin_id, ctx);
  const now = deps.clock.now();
  const idleSince = now.getTime() - deps.config.SECURITY_REFRESH_TOKEN_MAX_IDLE * 1000;
  if (row.expires_at <= now || row.last_used_at.getTime() < idleSince) throw refused('EXPIRED');
  if (row.revoked_at) throw refused('REVOKED');
  const gen = await rotateFamily(deps.db, row.family, claims.g, now);
  if (gen === null) return reused(deps, row.user_id, row.signin_id, ctx);
  const user = { id: row.user_id, email: row.email, fs_uniquifier: row.fs_uniquifier };
  const grant: SignInGrant = {
    signinId: row.signin_id,
    authAt: row.auth_at,
    methods: row.authn_methods,
    tfAt: row.tf_at,
  };
  const authToken = await issueAccessToken(deps, user, grant);
  const refreshToken = encodeRefreshToken(deps.hmac, { u: row.user_id, f: row.family, g: gen }, row.fs_uniquifier);
  return { user: { id: user.id, email: user.email }, authToken, refreshToken };
}

/** Signing out with a refresh token (body or cookie): its sign-in is revoked, if the token is genuinely ours. */
export async function revokeRefreshToken(deps: RefreshDeps, token: string): Promise<void> {
  const { row } = await familyOf(deps, token);
  if (row) await revokeSignIn(deps.db, row.signin_id, deps.clock.now());
}
