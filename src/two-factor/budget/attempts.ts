import type { Caller } from '../../caller.js';
import { AppError } from '../../errors.js';
import type { TfDeps } from '../deps.js';
import { lockIfOverThreshold } from './lockout.repository.js';
import type { StepRule } from '../flow.js';
import { callerScope, requirePending, wipePending, type PendingContext } from '../pending.js';
import { chargeGuess as chargeGuessRow, type PendingScope } from '../pending.repository.js';

/**
 * Every second-factor guess (a code at /tf-validate, a recovery code at
 * /mf-recovery) is charged here before it is looked at, atomically, to the
 * pending sign-in (cap) and to the user (lockout), so a burst never gets more
 * checks than the budget (openapi.yaml: TWO_FACTOR_TOO_MANY_ATTEMPTS, TWO_FACTOR_LOCKED). One statement finds the
 * pending row in scope and charges both; `pending.attempts` of the answer is
 * this guess's number, which refuseGuess needs.
 */
export async function chargeGuess(deps: TfDeps, caller: Caller, scope: PendingScope | null): Promise<PendingContext> {
  const charged = scope && (await chargeGuessRow(deps.db, scope, deps.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS));
  if (!charged) {
    // Out of scope or out of attempts: either way the pending state is over.
    await wipePending(deps, caller);
    throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
  }
  const now = scope.now;
  const { tf_locked_until: lockedUntil, tf_failures: failures } = charged.user;
  if (lockedUntil && lockedUntil > now) throw lockedError(lockedUntil, now);
  const threshold = deps.config.SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD;
  if (failures > threshold) {
    // A concurrent burst went past the threshold before the lock landed: refuse unchecked.
    const until = await lockIfOverThreshold(
      deps.db,
      charged.user.id,
      threshold,
      deps.config.SECURITY_TWO_FACTOR_LOCKOUT_DURATION,
      now,
    );
    if (until) await lockedOut(deps, caller, charged.user.id, until);
    throw lockedError(until ?? new Date(now.getTime() + 1000), now);
  }
  return charged;
}

/** A lock was set (by this request only: the statement that sets it resets the count): metrics and audit. */
async function lockedOut(deps: TfDeps, caller: Caller, userId: number, until: Date): Promise<void> {
  deps.metrics.lockout();
  await deps.audit.record(deps.db, 'tf.lockout', userId, caller.audit, { until: until.toISOString() });
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
 * The tf.failed row is written by the statement that decides the lock.
 */
export async function refuseGuess(deps: TfDeps, caller: Caller, ctx: PendingContext, refusal: Refusal): Promise<never> {
  const now = deps.clock.now();
  const audit = caller.audit;
  const failed = deps.audit.row('tf.failed', ctx.user.id, audit, { state: ctx.pending.state, method: refusal.method });
  const threshold = deps.config.SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD;
  const until = await lockIfOverThreshold(
    deps.db,
    ctx.user.id,
    threshold,
    deps.config.SECURITY_TWO_FACTOR_LOCKOUT_DURATION,
    now,
    failed,
  );
  deps.audit.logged(failed);
  deps.metrics.codeValidated(refusal.method, 'failure');
  if (until) {
    await lockedOut(deps, caller, ctx.user.id, until);
    throw lockedError(until, now);
  }
  if (ctx.pending.attempts >= deps.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS) {
    await wipePending(deps, caller, deps.audit.row('tf.too_many_attempts', ctx.user.id, audit));
    throw new AppError('TWO_FACTOR_TOO_MANY_ATTEMPTS');
  }
  throw refusal.wrong;
}

/** TWO_FACTOR_LOCKED with the seconds left, for Retry-After. */
export function lockedError(until: Date, now: Date): AppError {
  return new AppError('TWO_FACTOR_LOCKED', {
    retryAfter: Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)),
  });
}

/**
 * Charges a guess of the caller's pending state for a step (flow.ts): the
 * state is checked before the input is read, as every step does, so in a wrong
 * state the answer is TWO_FACTOR_PERMISSION_DENIED (and the state is wiped)
 * whatever was sent, and a bad input is never charged.
 */
export async function chargeStep<T>(
  deps: TfDeps,
  caller: Caller,
  step: StepRule,
  readInput: () => T,
): Promise<{ ctx: PendingContext; input: T }> {
  let input: T;
  try {
    input = readInput();
  } catch (err) {
    await requirePending(deps, caller, step);
    throw err;
  }
  return { ctx: await chargeGuess(deps, caller, callerScope(deps, caller, step)), input };
}
