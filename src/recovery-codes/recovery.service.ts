import type { FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { completeSignIn } from '../auth/after-password.js';
import { AppError } from '../errors.js';
import type { User } from '../users/users.repository.js';
import { refuseGuess } from '../two-factor/budget/attempts.js';
import type { PendingContext } from '../two-factor/pending.js';
import { deletePending } from '../two-factor/pending.repository.js';
import { normalizeRecoveryCode } from './codes.js';
import type { ValidateDeps } from '../two-factor/validate.service.js';
import { consumeRecoveryCode, countUnusedRecoveryCodes } from './recovery-codes.repository.js';
import { recoveryCodeHash } from './recovery-codes.service.js';

class Lost extends Error {}

/**
 * POST /mf-recovery: a recovery code instead of the second factor. Guards in
 * the order of /tf-validate: the guess was charged to the pending sign-in and
 * to the user first (rescueGuess), so recovery codes share the attempt cap and
 * the lockout (SPEC §4.2) and cannot be used to guess around them.
 *
 * A user without codes gets INVALID_RECOVERY_CODE too, as in Flask-Security
 * (NO_RECOVERY_CODES_SETUP is only its HTML page's "show codes" message).
 */
export async function signInWithRecoveryCode(
  deps: ValidateDeps,
  request: FastifyRequest,
  ctx: PendingContext,
  input: string,
  includeToken: boolean,
): Promise<Record<string, unknown>> {
  const canonical = normalizeRecoveryCode(input);
  const user = canonical ? await consume(deps, ctx, recoveryCodeHash(deps, canonical)) : undefined;
  if (!user) {
    return refuseGuess(deps, request, ctx, {
      method: 'recovery_code',
      wrong: new AppError('INVALID_RECOVERY_CODE', { field: 'code' }),
    });
  }
  deps.metrics.codeValidated('recovery_code', 'success');
  const audit = auditContext(request);
  await deps.audit.record(deps.db, 'recovery_code.used', user.id, audit, {
    remaining: await countUnusedRecoveryCodes(deps.db, user.id),
  });
  // As in Flask-Security, a recovery sign-in never remembers the device: the
  // device in hand is, by definition, not the one that holds the second factor.
  return completeSignIn(deps, request, user, {
    remember: ctx.pending.remember,
    methods: ['password', 'recovery_code'],
    includeToken,
  });
}

/**
 * One transaction decides, locking in the order /tf-validate and code
 * generation use (pending row, user row, codes) so they cannot deadlock: the
 * pending sign-in is consumed (only one request can), the user is still the
 * one who typed the password (fs_uniquifier), the failure run ends, and the
 * code is burned. Any miss rolls everything back, so a code is never burned
 * for a sign-in that did not happen.
 */
async function consume(deps: ValidateDeps, ctx: PendingContext, codeHash: string): Promise<User | undefined> {
  const { pending, user } = ctx;
  try {
    return await deps.db.transaction().execute(async (trx) => {
      if (!(await deletePending(trx, pending.id))) throw new Lost();
      const row = await trx
        .updateTable('users')
        .set({ tf_failures: 0, tf_lockouts: 0, tf_locked_until: null })
        .where('id', '=', user.id)
        .where('fs_uniquifier', '=', pending.fs_uniquifier)
        .where('active', '=', true)
        .returningAll()
        .executeTakeFirst();
      if (!row || !(await consumeRecoveryCode(trx, user.id, codeHash, deps.clock.now()))) throw new Lost();
      return row;
    });
  } catch (err) {
    if (err instanceof Lost) return undefined;
    throw err;
  }
}
