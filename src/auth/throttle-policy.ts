/**
 * The password-guessing throttle as a pure function of (policy, state, now), so
 * the numbers can be read and tested without a database.
 *
 * A scope (an account-and-IP pair, or an IP) may fail `threshold` times; the
 * attempt that reaches the threshold starts a delay of `firstDelay` seconds, and
 * every later one doubles it up to `maxDelay`. Nothing is ever locked for
 * everyone: the pair throttle only slows one address guessing one account, so an
 * attacker elsewhere cannot keep the owner out (docs/architecture.md, Budgets, OWASP Authentication
 * Cheat Sheet "Account Lockout"). Failures are forgotten `forgetAfter` seconds
 * after the last failure or the end of the last delay, whichever is later.
 */
export interface ThrottlePolicy {
  threshold: number;
  firstDelay: number;
  maxDelay: number;
  forgetAfter: number;
}

const MINUTE = 60;
const HOUR = 3600;

/**
 * One address guessing one account: 5 tries, then 1 min, 2, 4 … capped at 1 h.
 * NIST SP 800-63B §5.2.2 asks for at most 100 consecutive failures per account
 * and allows delays instead of lockout; 5 is OWASP's usual threshold and leaves a
 * person room for typos.
 */
export const PAIR_POLICY: ThrottlePolicy = {
  threshold: 5,
  firstDelay: MINUTE,
  maxDelay: HOUR,
  forgetAfter: 15 * MINUTE,
};

/**
 * One address guessing across accounts (password spraying: one common password
 * against many accounts, which the pair throttle never sees). Higher, because
 * many people may share an address behind NAT; successes do not count.
 */
export const IP_POLICY: ThrottlePolicy = {
  threshold: 50,
  firstDelay: MINUTE,
  maxDelay: HOUR,
  forgetAfter: 15 * MINUTE,
};

export interface ThrottleState {
  failures: number;
  blockedUntil: Date | null;
  forgetAt: Date;
}

export type Charge =
  /** Refused before any password work; retry after this many seconds. */
  | { allowed: false; retryAfter: number }
  /** Allowed and charged; `delay` (seconds) is the wait this attempt starts if it fails. */
  | { allowed: true; next: ThrottleState; delay: number | null };

/** The delay that the n-th consecutive failure starts, or null below the threshold. */
export function delayFor(policy: ThrottlePolicy, failures: number): number | null {
  if (failures < policy.threshold) return null;
  // Exponent capped so 2**n stays finite whatever the count.
  const exp = Math.min(failures - policy.threshold, 40);
  return Math.min(policy.maxDelay, policy.firstDelay * 2 ** exp);
}

/**
 * Charges one attempt before the password is checked (STYLE habit 4): the
 * caller stores `next` under the row lock, so N concurrent guesses are counted
 * one by one and the ones past the budget are refused without hashing.
 */
export function chargeAttempt(policy: ThrottlePolicy, state: ThrottleState, now: Date): Charge {
  const t = now.getTime();
  if (state.blockedUntil && state.blockedUntil.getTime() > t) {
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((state.blockedUntil.getTime() - t) / 1000)) };
  }
  const failures = state.forgetAt.getTime() <= t ? 1 : state.failures + 1;
  const delay = delayFor(policy, failures);
  const blockedUntil = delay === null ? null : new Date(t + delay * 1000);
  const forgetAt = new Date((blockedUntil?.getTime() ?? t) + policy.forgetAfter * 1000);
  return { allowed: true, next: { failures, blockedUntil, forgetAt }, delay };
}
