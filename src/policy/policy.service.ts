import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { userRoles } from '../users/users.repository.js';
import { policySubject, startGracePeriod } from './policy.repository.js';
import { inGracePeriod, twoFactorPolicy, type TwoFactorPolicy } from './two-factor-policy.js';

export interface PolicyDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
}

export interface PolicyUser {
  id: number;
  tf_required: boolean;
  tf_grace_started_at: Date | null;
}

/** Roles are read only when a setting names roles: without role rules the policy costs no query. */
function usesRoles(config: Config): boolean {
  return (
    config.SECURITY_TWO_FACTOR_REQUIRED_ROLES.length > 0 ||
    Object.keys(config.SECURITY_TWO_FACTOR_METHODS_BY_ROLE).length > 0
  );
}

/** The policy of one user (src/policy/two-factor-policy.ts), loading their roles when it matters. */
export async function policyOf(deps: PolicyDeps, user: PolicyUser): Promise<TwoFactorPolicy> {
  const roles = usesRoles(deps.config) ? await userRoles(deps.db, user.id) : [];
  return twoFactorPolicy(deps.config, policySubject({ ...user, roles }), deps.clock.now());
}

/**
 * A required user without a factor signs in: inside the grace period, the
 * period's start is recorded (once) and its end returned; else null (setup now).
 */
export async function graceSignIn(deps: PolicyDeps, user: PolicyUser, policy: TwoFactorPolicy): Promise<Date | null> {
  const now = deps.clock.now();
  if (!inGracePeriod(policy, now)) return null;
  if (user.tf_grace_started_at) return policy.graceUntil;
  const started = (await startGracePeriod(deps.db, user.id, now)) ?? now;
  const until = new Date(started.getTime() + deps.config.SECURITY_TWO_FACTOR_GRACE_PERIOD * 1000);
  return until.getTime() > now.getTime() ? until : null;
}
