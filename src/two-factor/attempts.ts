import type { FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { AppError } from '../errors.js';
import type { TfDeps } from './context.js';
import { chargeUserAttempt, lockIfOverThreshold } from './lockout.repository.js';
import { wipePending, type PendingContext } from './pending.js';
import { chargeAttempt } from './pending.repository.js';
import { lockedError } from './verify-code.js';

/**
 * Every second-factor guess (a code at /tf-validate, a recovery code at
 * /mf-recovery) is charged here before it is looked at, atomically, to the
 * pending sign-in (cap) and to the user (lockout), so a burst never gets more
 * checks than the budget (SPEC §4.2, STYLE habit 4). Returns the pending
 * row's attempt count, which refuseGuess needs.
 */
export async function chargeGuess(deps: TfDeps, request: FastifyRequest, ctx: PendingContext): Promise<number> {
  const now = deps.clock.now();
  const threshold = deps.config.SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD;
  const attempts = await chargeAttempt(deps.db, ctx.pending.id, deps.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS);
  if (attempts === null) {
    await wipePending(deps, request);
    throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
  }
  const charge = await chargeUserAttempt(deps.db, ctx.user.id, now);
  if (!charge.ok) throw lockedError(charge.lockedUntil, now);
  if (charge.failures > threshold) {
    // A concurrent burst went past the threshold before the lock landed: refuse unchecked.
    const until = await lockIfOverThreshold(deps.db, ctx.user.id, threshold, deps.config.SECURITY_TWO_FACTOR_LOCKOUT_DURATION, now);
    if (until) deps.metrics.lockout();
    throw lockedError(until ?? new Date(now.getTime() + 1000), now);
  }
  return attempts;
}

export interface Refusal {
  /** What was guessed (metrics label, audit detail): a fixed word from code, never client input. */
  method: string;
  /** The answer while neither limit is reached, e.g. TWO_FACTOR_INVALID_TOKEN on `code`. */
  wrong: AppError;
}

/**
 * A charged guess was wrong: lock the user when this failure reaches the
 * threshold (429 TWO_FACTOR_LOCKED), void the pending sign-in on its N-th
 * failure (429 TWO_FACTOR_TOO_MANY_ATTEMPTS), else answer `refusal.wrong`.
 */
export async function refuseGuess(deps: TfDeps, request: FastifyRequest, ctx: PendingContext, attempts: number, refusal: Refusal): Promise<never> {
  const now = deps.clock.now();
  const audit = auditContext(request);
  await deps.audit.record(deps.db, 'tf.failed', ctx.user.id, audit, { state: ctx.pending.state, method: refusal.method });
  deps.metrics.codeValidated(refusal.method, 'failure');
  const until = await lockIfOverThreshold(deps.db, ctx.user.id, deps.config.SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD, deps.config.SECURITY_TWO_FACTOR_LOCKOUT_DURATION, now);
  if (until) {
    deps.metrics.lockout();
    await deps.audit.record(deps.db, 'tf.lockout', ctx.user.id, audit, { until: until.toISOString() });
    throw lockedError(until, now);
  }
  if (attempts >= deps.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS) {
    await wipePending(deps, request);
    await deps.audit.record(deps.db, 'tf.too_many_attempts', ctx.user.id, audit);
    throw new AppError('TWO_FACTOR_TOO_MANY_ATTEMPTS');
  }
  throw refusal.wrong;
}
