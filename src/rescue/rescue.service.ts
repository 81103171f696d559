import type { FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { AppError, ValidationError } from '../errors.js';
import { chargeSessionGuess } from '../two-factor/budget/attempts.js';
import { sendCode } from '../two-factor/factors/send-code.js';
import type { TfDeps } from '../two-factor/deps.js';
import { requirePending, type PendingContext } from '../two-factor/pending.js';
import { recoveryOptions } from './options.js';
import { notifyHelpDesk } from './help-desk.js';

/** The options this service knows how to carry out; a probe may only offer these. */
const HANDLED = new Set(['email', 'help', 'recovery_code']);

/**
 * Who may rescue a sign-in: an anonymous caller whose pending sign-in is
 * `ready` (SPEC §3). Signed in: ANONYMOUS_USER_REQUIRED, nothing wiped (a
 * signed-in user's pending change is not ours to drop). Any other state:
 * TWO_FACTOR_PERMISSION_DENIED, and the state is wiped.
 */
export async function rescueCaller(deps: TfDeps, request: FastifyRequest): Promise<PendingContext> {
  if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
  return requirePending(deps, request, ['ready'], ['signin']);
}

/** The same caller making a guess (a recovery code): charged as /tf-validate charges a code. */
export async function rescueGuess<T>(
  deps: TfDeps,
  request: FastifyRequest,
  readInput: () => T,
): Promise<{ ctx: PendingContext; input: T }> {
  if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
  return chargeSessionGuess(deps, request, ['ready'], ['signin'], readInput);
}

/**
 * POST /tf-rescue {help_setup}. Only an option offered to this user is
 * accepted (an `email` switched off, or a `recovery_code` of a user without
 * unused codes, is API_ERROR like an unknown word). `email` sends a rescue
 * code that POST /tf-validate accepts; `help` mails the help desk;
 * `recovery_code` only points the client at /mf-recovery.
 */
export async function rescue(
  deps: TfDeps,
  request: FastifyRequest,
  ctx: PendingContext,
  choice: string,
): Promise<Record<string, unknown>> {
  const { pending, user } = ctx;
  const options = await recoveryOptions(deps, user);
  if (!HANDLED.has(choice) || !Object.hasOwn(options, choice))
    throw new ValidationError([{ field: 'help_setup', key: 'API_ERROR' }]);
  const audit = auditContext(request);
  if (choice === 'email') {
    await sendCode(
      deps,
      { pendingId: pending.id, userId: user.id, channel: 'email', destination: user.email, purpose: 'rescue' },
      audit,
    );
  } else if (choice === 'help') {
    await notifyHelpDesk(deps, user, audit);
  }
  await deps.audit.record(deps.db, 'rescue.used', user.id, audit, { option: choice });
  return choice === 'recovery_code'
    ? { recovery_options: options, tf_rescue_next: '/mf-recovery' }
    : { recovery_options: options };
}
