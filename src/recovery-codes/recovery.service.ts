import type { Caller } from '../caller.js';
import { AppError } from '../errors.js';
import { readBody } from '../http/input.js';
import { chargeStep, refuseGuess } from '../two-factor/budget/attempts.js';
import type { TfDeps } from '../two-factor/deps.js';
import { STEP } from '../two-factor/flow.js';
import { completePending } from '../two-factor/pending.repository.js';
import { signInMethods } from '../two-factor/pending.js';
import type { StepOutcome } from '../two-factor/validate.service.js';
import { FAILURE_RUN_RESET } from '../users/users.repository.js';
import { normalizeRecoveryCode } from './codes.js';
import { countUnusedRecoveryCodes } from './recovery-codes.repository.js';
import { recoveryCodeHash } from './recovery-codes.service.js';

function readRecoveryCode(body: unknown): string {
  const reader = readBody(body);
  const code = reader.string('code', { max: 64 });
  reader.done();
  return code;
}

/**
 * POST /mf-recovery: a recovery code instead of the second factor, in the
 * order of /tf-validate: the guess is charged to the pending sign-in and to the
 * user first, so recovery codes share the attempt cap and the lockout and
 * cannot be used to guess around them; then the code is burned by the
 * statement that completes the sign-in (completePending), so a code is never
 * burned for a sign-in that did not happen.
 *
 * A user without codes gets INVALID_RECOVERY_CODE too, as in Flask-Security
 * (NO_RECOVERY_CODES_SETUP is only its HTML page's "show codes" message).
 * As in Flask-Security, a recovery sign-in never remembers the device: the
 * device in hand is, by definition, not the one that holds the second factor.
 */
export async function signInWithRecoveryCode(deps: TfDeps, caller: Caller, body: unknown): Promise<StepOutcome> {
  if (caller.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
  const { ctx, input } = await chargeStep(deps, caller, STEP.rescue, () => readRecoveryCode(body));
  const { pending, user } = ctx;
  const canonical = normalizeRecoveryCode(input);
  const methods = signInMethods(pending, 'recovery_code');
  const signin = deps.audit.row('signin.success', user.id, caller.audit, { methods });
  const done = canonical
    ? await completePending(deps.db, {
        pendingId: pending.id,
        userId: user.id,
        fsUniquifier: pending.fs_uniquifier,
        changes: FAILURE_RUN_RESET,
        recoveryCode: { hash: recoveryCodeHash(deps, canonical), now: deps.clock.now() },
        audit: [signin],
      })
    : undefined;
  if (!done) {
    return refuseGuess(deps, caller, ctx, {
      method: 'recovery_code',
      wrong: new AppError('INVALID_RECOVERY_CODE', { field: 'code' }),
    });
  }
  deps.metrics.codeValidated('recovery_code', 'success');
  await deps.audit.record(deps.db, 'recovery_code.used', user.id, caller.audit, {
    remaining: await countUnusedRecoveryCodes(deps.db, user.id),
  });
  return { kind: 'signed-in', user: done, remember: pending.remember, methods, audited: signin, device: undefined };
}
