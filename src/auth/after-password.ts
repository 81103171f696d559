import type { FastifyRequest } from 'fastify';
import { auditContext, type Auditor } from '../audit/audit.js';
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { User } from '../users/users.repository.js';
import { authTokenFor, establishSession, publicUser, type SignInDeps } from './signin.js';

/**
 * What happens once the password is accepted. The two-factor feature replaces
 * this with its own (pending sign-in, code sent); without it the user is signed in.
 */
export interface AfterPassword {
  discardPending(request: FastifyRequest): Promise<void>;
  proceed(request: FastifyRequest, user: User, opts: { remember: boolean; includeToken: boolean }): Promise<Record<string, unknown>>;
}

export function passwordOnly(deps: SignInDeps & { db: Kysely<DB>; audit: Auditor; metrics: Metrics }): AfterPassword {
  return {
    async discardPending() {},
    async proceed(request, user, opts) {
      const authAt = await establishSession(request, deps, user, { remember: opts.remember, methods: ['password'] });
      await deps.audit.record(deps.db, 'signin.success', user.id, auditContext(request), { methods: ['password'] });
      deps.metrics.signIn('success');
      const token = opts.includeToken ? authTokenFor(deps, user, authAt) : undefined;
      return { user: publicUser(user, token), tf_required: false };
    },
  };
}
