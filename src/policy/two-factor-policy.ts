import type { Config, TwoFactorMethod } from '../config.js';

/**
 * Who must have a second factor, which methods they may choose, and whether
 * they may still sign in without one (README, "Two-factor policy"). The one
 * place that decides it: /login, /tf-setup (GET, POST, disable) and GET /me
 * all ask this function. Pure: the caller loads the user's roles and columns.
 */
export type PolicyConfig = Pick<
  Config,
  | 'SECURITY_TWO_FACTOR_REQUIRED'
  | 'SECURITY_TWO_FACTOR_REQUIRED_ROLES'
  | 'SECURITY_TWO_FACTOR_ENABLED_METHODS'
  | 'SECURITY_TWO_FACTOR_METHODS_BY_ROLE'
  | 'SECURITY_TWO_FACTOR_GRACE_PERIOD'
>;

export interface PolicySubject {
  roles: readonly string[];
  /** The per-user requirement (users.tf_required). */
  tfRequired: boolean;
  /** When this user's grace period started (their first sign-in under a requirement), if it has. */
  graceStartedAt: Date | null;
}

/** Why a second factor is required: the global switch, one of the user's roles, or the user's own flag. */
export type RequiredBecause = 'all_users' | `role:${string}` | 'user';

export interface TwoFactorPolicy {
  required: boolean;
  because: RequiredBecause[];
  /** The methods this user may set up, in SECURITY_TWO_FACTOR_ENABLED_METHODS order. */
  methods: TwoFactorMethod[];
  /**
   * Required, but SECURITY_TWO_FACTOR_GRACE_PERIOD lets a user without a factor
   * sign in until this time (counted from `graceStartedAt`, or from `now` for a
   * grace period that starts with this sign-in). Null without a grace period.
   */
  graceUntil: Date | null;
}

export function twoFactorPolicy(config: PolicyConfig, subject: PolicySubject, now: Date): TwoFactorPolicy {
  const because: RequiredBecause[] = [];
  if (config.SECURITY_TWO_FACTOR_REQUIRED) because.push('all_users');
  for (const role of config.SECURITY_TWO_FACTOR_REQUIRED_ROLES) {
    if (subject.roles.includes(role)) because.push(`role:${role}`);
  }
  if (subject.tfRequired) because.push('user');
  const required = because.length > 0;

  // Every listed role of the user restricts the choice: the strictest combination wins.
  let methods = [...config.SECURITY_TWO_FACTOR_ENABLED_METHODS];
  for (const role of subject.roles) {
    const allowed = config.SECURITY_TWO_FACTOR_METHODS_BY_ROLE[role];
    if (allowed) methods = methods.filter((m) => allowed.includes(m));
  }

  const grace = config.SECURITY_TWO_FACTOR_GRACE_PERIOD;
  const graceUntil = required && grace > 0 ? new Date((subject.graceStartedAt ?? now).getTime() + grace * 1000) : null;
  return { required, because, methods, graceUntil };
}

/** A required user without a factor may still sign in (the grace period has not run out). */
export function inGracePeriod(policy: TwoFactorPolicy, now: Date): boolean {
  return policy.required && policy.graceUntil !== null && policy.graceUntil.getTime() > now.getTime();
}

/** Whether the policy lets this user use `method` (a method set up before a role restriction may not be). */
export function methodAllowed(policy: TwoFactorPolicy, method: string): boolean {
  return (policy.methods as readonly string[]).includes(method);
}
