import type { Caller } from '../../caller.js';
import { AppError } from '../../errors.js';
import type { TfDeps } from '../deps.js';
import { refuseAndLockIfOver, unchargeFailure } from './lockout.repository.js';
import type { StepRule } from '../flow.js';
import { callerScope, requirePending, voidPending, wipePending, type PendingContext } from '../pending.js';
import { chargeGuess as chargeGuessRow, findPendingInScope, type PendingScope } from '../pending.repository.js';

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
    // Past the cap while the row is still in scope: refused, but not voided, since a guess
    // charged within the cap may still be completing it (README "Abuse resistance").
    if (scope && (await findPendingInScope(deps.db, scope))) throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
    await wipePending(deps, caller);
    throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
  }
  const now = scope.now;
  const { tf_locked_until: lockedUntil, tf_failures: failures } = charged.user;
  if (lockedUntil && lockedUntil > now) throw lockedError(lockedUntil, now);
  const threshold = deps.config.SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD;
  if (failures > threshold) {
    // More guesses in flight than the lockout budget: this one is refused unchecked. Nothing
    // was checked, so it is no failure and its charge is taken back; the lock is set by a
    // checked wrong guess (refuseGuess), never by right codes that happen to arrive at once.
    await unchargeFailure(deps.db, charged.user.id);
    throw lockedError(new Date(now.getTime() + 1000), now);
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
  /**
   * The proof was right but lost to its own twin: a code accepted a moment ago by a
   * concurrent request (the TOTP step already used, the pending sign-in already completed).
   * Whoever sent it knows the factor, so it counts toward this sign-in's cap, not toward
   * the user's lockout (README "Abuse resistance").
   */
  replay?: boolean;
}

/**
 * A charged guess was wrong: lock the user when this failure reaches the
 * threshold (429 TWO_FACTOR_LOCKED), void the pending sign-in on its N-th
 * failure (429 TWO_FACTOR_TOO_MANY_ATTEMPTS), else answer `refusal.wrong`.
 * The tf.failed row is written by the statement that decides the lock, and so
 * is the void: one statement for the cap's failure too.
 */
export async function refuseGuess(deps: TfDeps, caller: Caller, ctx: PendingContext, refusal: Refusal): Promise<never> {
  const now = deps.clock.now();
  const audit = caller.audit;
  const details = { state: ctx.pending.state, method: refusal.method, ...(refusal.replay ? { replay: true } : {}) };
  const failed = deps.audit.row('tf.failed', ctx.user.id, audit, details);
  deps.metrics.codeValidated(refusal.method, 'failure');
  // The N-th failure voids the sign-in, unless its sent code was just used by a concurrent
  // request: that one passed within the cap and is completing the sign-in.
  const voids = ctx.pending.attempts >= deps.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS && {
    pendingId: ctx.pending.id,
    audit: deps.audit.row('tf.too_many_attempts', ctx.user.id, audit),
  };
  if (refusal.replay) {
    await unchargeFailure(deps.db, ctx.user.id);
    await deps.audit.write(deps.db, failed);
    if (voids) await voidPending(deps, voids.pendingId, voids.audit);
  } else {
    const threshold = deps.config.SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD;
    const duration = deps.config.SECURITY_TWO_FACTOR_LOCKOUT_DURATION;
    const until = await refuseAndLockIfOver(
      deps.db,
      { userId: ctx.user.id, now, audit: failed, ...(voids && { voids }) },
      threshold,
      duration,
    );
    deps.audit.logged(failed);
    if (until) {
      await lockedOut(deps, caller, ctx.user.id, until);
      throw lockedError(until, now);
    }
    if (voids) deps.audit.logged(voids.audit);
  }
  if (voids) throw new AppError('TWO_FACTOR_TOO_MANY_ATTEMPTS');
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
