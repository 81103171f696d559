import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { auditContext, type Auditor, type AuditRow } from '../audit/audit.js';
import type { DB } from '../db/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { User } from '../users/users.repository.js';
import { authTokenFor, establishSession, publicUser, type SignedInUser, type SignInDeps } from './signin.js';

/**
 * What happens once the password is accepted. The two-factor feature supplies
 * its own (pending sign-in, code sent); `passwordOnly` signs the user in.
 */
export interface AfterPassword {
  /** Drops an earlier pending sign-in of this session (SPEC §3: any new /login does). */
  discardPending(request: FastifyRequest): Promise<void>;
  proceed(
    request: FastifyRequest,
    user: User,
    opts: { remember: boolean; includeToken: boolean },
  ): Promise<Record<string, unknown>>;
}

export type CompleteDeps = SignInDeps & { db: Kysely<DB>; audit: Auditor; metrics: Metrics };

/**
 * The last step of every sign-in path: new session id, audit row, optional
 * token. `audited`: the signin.success row, when the statement that decided
 * the sign-in wrote it already (only its log line is left to do).
 */
export async function completeSignIn(
  deps: CompleteDeps,
  request: FastifyRequest,
  user: SignedInUser,
  opts: { remember: boolean; methods: string[]; includeToken: boolean; audited?: AuditRow | undefined },
): Promise<{ user: Record<string, unknown> }> {
  const authAt = await establishSession(request, deps, user, { remember: opts.remember, methods: opts.methods });
  if (opts.audited) deps.audit.logged(opts.audited);
  else await deps.audit.record(deps.db, 'signin.success', user.id, auditContext(request), { methods: opts.methods });
  deps.metrics.signIn('success');
  const token = opts.includeToken ? authTokenFor(deps, user, authAt) : undefined;
  return { user: publicUser(user, token) };
}

export function passwordOnly(deps: CompleteDeps): AfterPassword {
  return {
    async discardPending() {},
    async proceed(request, user, opts) {
      const done = await completeSignIn(deps, request, user, { ...opts, methods: ['password'] });
      return { ...done, tf_required: false };
    },
  };
}
