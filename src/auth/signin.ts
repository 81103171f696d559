import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { auditContext, type Auditor, type AuditRow } from '../audit/audit.js';
import type { DB } from '../db/types.js';
import { setDeviceCookie } from '../devices/device-cookie.js';
import type { RememberedDevice } from '../devices/devices.service.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { Config, TwoFactorMethod } from '../config.js';
import type { Clock } from '../clock.js';
import { rotateSession } from '../http/session.js';
import { rememberFor } from '../http/request-session.js';
import type { SessionUser } from '../db/session-store.js';
import type { Auth } from '../http/auth-context.js';
import { cookiesSecure } from '../http/session.js';
import { issueRefreshToken } from '../refresh/refresh.service.js';
import { secondFactorAt } from './assurance.js';
import { issueAccessToken, newSigninId, type SignInGrant } from './token-issue.js';

export interface SignInDeps {
  config: Config;
  clock: Clock;
  hmac: KeyedHasher;
}

export interface SignedInUser {
  id: number;
  email: string;
  fs_uniquifier: string;
  tf_primary_method: TwoFactorMethod | null;
}

/** What a sign-in hands a token client: `authentication_token`, and `refresh_token` unless it went into its cookie. */
export type IssuedTokens = { authentication_token: string; refresh_token?: string };

/** The `user` object clients see: never ids, hashes, secrets or fs_uniquifier. */
export function publicUser(user: { email: string }, token?: string | IssuedTokens): Record<string, unknown> {
  if (!token) return { email: user.email };
  return typeof token === 'string'
    ? { email: user.email, authentication_token: token }
    : { email: user.email, ...token };
}

/**
 * Upgrades the session to signed in. The id is rotated first (session
 * fixation), which also drops any pending state the old session held.
 */
export async function establishSession(
  request: FastifyRequest,
  deps: SignInDeps,
  user: SignedInUser,
  opts: { remember: boolean; methods: string[] },
): Promise<SignInGrant> {
  await rotateSession(request);
  const now = deps.clock.now();
  const s = request.session;
  const grant: SignInGrant = {
    signinId: newSigninId(),
    authAt: now,
    methods: opts.methods,
    tfAt: secondFactorAt(opts.methods, now),
  };
  s.userId = user.id;
  s.fsUniquifier = user.fs_uniquifier;
  s.authAt = now.getTime();
  s.authnMethods = opts.methods;
  s.tfAt = grant.tfAt?.getTime() ?? null;
  s.signinId = grant.signinId;
  s.remember = opts.remember;
  const sessionUser: SessionUser = {
    id: user.id,
    email: user.email,
    fs_uniquifier: user.fs_uniquifier,
    tf_primary_method: user.tf_primary_method,
  };
  s._user = sessionUser;
  // Without `remember` the cookie lives as long as the browser session; the row expires server-side.
  if (opts.remember) rememberFor(s, deps.config.SECURITY_REMEMBER_DURATION * 1000, now);
  request.auth = {
    user: sessionUser,
    via: 'session',
    authAt: now,
    authnMethods: opts.methods,
    tfAt: grant.tfAt,
    signinId: grant.signinId,
  };
  return grant;
}

/** The sign-in a signed-in caller belongs to, for tokens issued to it later (/verify, a changed setup). */
export function grantOf(auth: Auth): SignInGrant {
  return {
    signinId: auth.signinId ?? newSigninId(),
    authAt: auth.authAt,
    methods: auth.authnMethods,
    tfAt: auth.tfAt ?? null,
  };
}

/**
 * The tokens of a sign-in (`?include_auth_token`): an auth token and, with
 * SECURITY_REFRESH_TOKEN, a new refresh token family, in its HttpOnly cookie
 * (SECURITY_REFRESH_TOKEN_COOKIE_NAME, Flask-Security's default) or in the answer.
 */
export async function authTokenFor(
  deps: SignInDeps & { db: Kysely<DB> },
  user: Pick<SignedInUser, 'id' | 'fs_uniquifier'>,
  grant: SignInGrant,
  reply?: FastifyReply,
): Promise<IssuedTokens> {
  const tokens: IssuedTokens = { authentication_token: await issueAccessToken(deps, user, grant) };
  // A browser session that never handed out a token has nothing to revoke at sign-out: /logout skips the statement.
  if (reply?.request.auth?.via === 'session') reply.request.session.tokensIssued = true;
  if (!deps.config.SECURITY_REFRESH_TOKEN) return tokens;
  const refresh = await issueRefreshToken(deps, user, grant);
  const cookie = deps.config.SECURITY_REFRESH_TOKEN_COOKIE_NAME;
  if (cookie && reply) setRefreshCookie(reply, deps.config, refresh);
  else tokens.refresh_token = refresh;
  return tokens;
}

/** Flask-Security's refresh cookie: HttpOnly, SameSite=Strict, Secure (unless cookies are configured insecure). */
export function setRefreshCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(config.SECURITY_REFRESH_TOKEN_COOKIE_NAME, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: cookiesSecure(config),
    maxAge: config.SECURITY_REFRESH_TOKEN_MAX_AGE,
  });
}

export type CompleteDeps = SignInDeps & { db: Kysely<DB>; audit: Auditor; metrics: Metrics };

/**
 * The last step of every sign-in path, on the handler's side: new session id,
 * audit row, optional token, the remembered device's cookie. `audited`: the
 * signin.success row, when the statement that decided the sign-in wrote it
 * already (only its log line is left to do).
 */
export async function completeSignIn(
  deps: CompleteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  user: SignedInUser,
  opts: {
    remember: boolean;
    methods: string[];
    includeToken: boolean;
    audited?: AuditRow | undefined;
    device?: RememberedDevice | undefined;
  },
): Promise<{ user: Record<string, unknown> }> {
  const grant = await establishSession(request, deps, user, { remember: opts.remember, methods: opts.methods });
  if (opts.audited) deps.audit.logged(opts.audited);
  else await deps.audit.record(deps.db, 'signin.success', user.id, auditContext(request), { methods: opts.methods });
  deps.metrics.signIn('success');
  if (opts.device) setDeviceCookie(reply, deps.config, opts.device);
  const token = opts.includeToken ? await authTokenFor(deps, user, grant, reply) : undefined;
  return { user: publicUser(user, token) };
}

/** A signed-in user's second factor changed: the session's cached copy of the user follows. */
export function refreshCachedUser(request: FastifyRequest, user: Pick<SignedInUser, 'tf_primary_method'>): void {
  if (request.session._user)
    request.session._user = { ...request.session._user, tf_primary_method: user.tf_primary_method };
}
