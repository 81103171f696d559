import type { Caller } from '../caller.js';
import { AppError, ValidationError } from '../errors.js';
import type { TfDeps } from '../two-factor/deps.js';
import { sendCode } from '../two-factor/factors/send-code.js';
import { STEP } from '../two-factor/flow.js';
import { requirePending, type PendingContext } from '../two-factor/pending.js';
import { notifyHelpDesk } from './help-desk.js';
import type { RescueOptions } from './options.js';

/** The options this service knows how to carry out; a probe may only offer these. */
const HANDLED = new Set(['email', 'help', 'recovery_code']);

export type RescueDeps = TfDeps & { rescueOptions: RescueOptions };

/**
 * Who may rescue a sign-in: an anonymous caller whose pending sign-in is
 * `ready` (flow.ts). Signed in: ANONYMOUS_USER_REQUIRED, nothing wiped (a
 * signed-in user's pending change is not ours to drop). Any other state:
 * TWO_FACTOR_PERMISSION_DENIED, and the state is wiped.
 */
export async function rescueCaller(deps: TfDeps, caller: Caller): Promise<PendingContext> {
  if (caller.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
  return requirePending(deps, caller, STEP.rescue);
}

/**
 * POST /tf-rescue {help_setup}. Only an option offered to this user is
 * accepted (an `email` switched off, or a `recovery_code` of a user without
 * unused codes, is API_ERROR like an unknown word). `email` sends a rescue
 * code that POST /tf-validate accepts; `help` mails the help desk;
 * `recovery_code` only points the client at /mf-recovery.
 */
export async function rescue(
  deps: RescueDeps,
  caller: Caller,
  ctx: PendingContext,
  choice: string,
): Promise<Record<string, unknown>> {
  const { pending, user } = ctx;
  const options = await deps.rescueOptions(user);
  if (!HANDLED.has(choice) || !Object.hasOwn(options, choice))
    throw new ValidationError([{ field: 'help_setup', key: 'API_ERROR' }]);
  if (choice === 'email') {
    await sendCode(
      deps,
      { pendingId: pending.id, userId: user.id, channel: 'email', destination: user.email, purpose: 'rescue' },
      caller.audit,
    );
  } else if (choice === 'help') {
    await notifyHelpDesk(deps, user, caller.audit);
  }
  await deps.audit.record(deps.db, 'rescue.used', user.id, caller.audit, { option: choice });
  return choice === 'recovery_code'
    ? { recovery_options: options, tf_rescue_next: '/mf-recovery' }
    : { recovery_options: options };
}
