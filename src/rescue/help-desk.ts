import type { AuditContext } from '../audit/audit.js';
import { AppError } from '../errors.js';
import { helpDeskNoticeEmail } from '../senders/messages.js';
import { DeliveryError } from '../senders/types.js';
import type { TfDeps } from '../two-factor/deps.js';
import type { User } from '../users/users.repository.js';
import { claimHelpRequest, lastHelpRequest, releaseHelpRequest } from './help-requests.repository.js';

/**
 * One help-desk notice per user per hour. The limit is keyed on the user, not
 * on the help-desk address: the code-send limits (one per 30 s, ten per hour
 * per destination) applied to SECURITY_TWO_FACTOR_RESCUE_MAIL would make it
 * one budget for the whole service, so anyone holding a single password could
 * starve every other user's help request. Per user, a flood needs a valid
 * password of a two-factor account for every notice an hour; the per-IP POST
 * limit bounds the rest. The help desk acts by hand, so a repeat within the
 * hour adds nothing it needs.
 */
export const HELP_COOLDOWN_SECONDS = 3600;

export async function notifyHelpDesk(deps: TfDeps, user: User, ctx: AuditContext): Promise<void> {
  const now = deps.clock.now();
  const cutoff = new Date(now.getTime() - HELP_COOLDOWN_SECONDS * 1000);
  if (!(await claimHelpRequest(deps.db, user.id, now, cutoff))) {
    const last = (await lastHelpRequest(deps.db, user.id)) ?? now;
    const retryAfter = Math.ceil((last.getTime() + HELP_COOLDOWN_SECONDS * 1000 - now.getTime()) / 1000);
    throw new AppError('RATE_LIMITED', { retryAfter: Math.max(1, retryAfter) });
  }
  const message = helpDeskNoticeEmail(deps.config.SECURITY_TWO_FACTOR_RESCUE_MAIL, {
    userEmail: user.email,
    appName: deps.config.SECURITY_TOTP_ISSUER,
  });
  try {
    await deps.senders.email.send(message);
  } catch (err) {
    await releaseHelpRequest(deps.db, user.id, now);
    deps.metrics.senderFailure('email');
    await deps.audit.record(deps.db, 'code.send_failed', user.id, ctx, { channel: 'email', purpose: 'help' });
    // The same answer as a code that could not be sent (openapi.yaml decision): the client may retry.
    if (err instanceof DeliveryError) throw new AppError('FAILED_TO_SEND_CODE');
    throw err;
  }
}
