import type { FastifyRequest } from 'fastify';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { Config } from '../config.js';
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
  tf_primary_method: string | null;
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
