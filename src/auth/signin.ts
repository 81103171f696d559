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
import type { SessionUser } from '../db/session-store.js';
import { issueAuthToken } from './tokens.js';

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

/** The `user` object clients see: never ids, hashes, secrets or fs_uniquifier. */
export function publicUser(user: { email: string }, token?: string): Record<string, unknown> {
  return token ? { email: user.email, authentication_token: token } : { email: user.email };
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
): Promise<Date> {
  await rotateSession(request);
  const now = deps.clock.now();
  const s = request.session;
  s.userId = user.id;
  s.fsUniquifier = user.fs_uniquifier;
  s.authAt = now.getTime();
  s.authnMethods = opts.methods;
  s.remember = opts.remember;
  const sessionUser: SessionUser = {
    id: user.id,
    email: user.email,
    fs_uniquifier: user.fs_uniquifier,
    tf_primary_method: user.tf_primary_method,
  };
  s._user = sessionUser;
  // Without `remember` the cookie lives as long as the browser session; the row expires server-side.
  if (opts.remember) s.cookie.maxAge = deps.config.SECURITY_REMEMBER_DURATION * 1000;
  request.auth = { user: sessionUser, via: 'session', authAt: now, authnMethods: opts.methods };
  return now;
}

export function authTokenFor(deps: SignInDeps, user: SignedInUser, authAt: Date): string {
  return issueAuthToken(deps.hmac, user.id, user.fs_uniquifier, authAt, deps.config.SECURITY_TOKEN_MAX_AGE);
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
  const authAt = await establishSession(request, deps, user, { remember: opts.remember, methods: opts.methods });
  if (opts.audited) deps.audit.logged(opts.audited);
  else await deps.audit.record(deps.db, 'signin.success', user.id, auditContext(request), { methods: opts.methods });
  deps.metrics.signIn('success');
  if (opts.device) setDeviceCookie(reply, deps.config, opts.device);
  const token = opts.includeToken ? authTokenFor(deps, user, authAt) : undefined;
  return { user: publicUser(user, token) };
}

/** A signed-in user's second factor changed: the session's cached copy of the user follows. */
export function refreshCachedUser(request: FastifyRequest, user: Pick<SignedInUser, 'tf_primary_method'>): void {
  if (request.session._user)
    request.session._user = { ...request.session._user, tf_primary_method: user.tf_primary_method };
}
