import { AppError } from '../../errors.js';
import { codeSms, rescueCodeEmail, setupCodeEmail, signInCodeEmail } from '../../senders/messages.js';
import { DeliveryError } from '../../senders/types.js';
import type { AuditContext } from '../../audit/audit.js';
import type { TfDeps } from '../deps.js';
import { randomOtpCode } from './otp-code.js';
import { checkAndRecordSend, forgetSend } from '../budget/send-limits.js';
import { storeCode } from '../pending.repository.js';
import { reserveSms } from '../../sms-budget/sms-budget.js';

import type { ChallengePurpose } from './factor.js';

export type CodePurpose = ChallengePurpose;
export type Channel = 'email' | 'sms';

export interface CodeTarget {
  pendingId: string;
  userId: number;
  channel: Channel;
  /** The e-mail address or E.164 number the code goes to, and is bound to. */
  destination: string;
  purpose: CodePurpose;
}

export function codeHash(deps: Pick<TfDeps, 'hmac'>, pendingId: string, destination: string, code: string): string {
  return deps.hmac.hashParts('otp', [code, pendingId, destination]);
}

function validitySeconds(deps: TfDeps, channel: Channel): number {
  return channel === 'email'
    ? deps.config.SECURITY_TWO_FACTOR_MAIL_VALIDITY
    : deps.config.SECURITY_TWO_FACTOR_SMS_VALIDITY;
}

/**
 * Sends a fresh 6-digit code and stores only its keyed hash on the pending row
 * (openapi.yaml, /tf-validate): the new code replaces the previous one. Flood limits are checked
 * first, so an over-limit request sends nothing and leaves the earlier code valid.
 * The hash is stored only after the provider accepted the message, so a failed
 * delivery does not kill a code the user already has.
 */
export async function sendCode(deps: TfDeps, target: CodeTarget, ctx: AuditContext): Promise<void> {
  const sendId = await reserveSend(deps, target.userId, target.channel, target.destination, ctx);
  await deliverCode(deps, target, sendId, ctx);
}

/**
 * Checks the flood limits and counts the send (429 RATE_LIMITED when over); an
 * SMS then also takes a slot of the service-wide SMS budgets (src/sms-budget),
 * after the user's own limits so that requests a user limit refuses never use them up.
 */
export async function reserveSend(
  deps: TfDeps,
  userId: number,
  channel: Channel,
  destination: string,
  ctx: AuditContext,
): Promise<number> {
  try {
    const sendId = await checkAndRecordSend(deps, userId, destination);
    if (channel === 'sms') await reserveSms(deps, userId, ctx).catch(forgetAndRethrow(deps, sendId));
    return sendId;
  } catch (err) {
    if (err instanceof AppError && err.key === 'RATE_LIMITED') deps.metrics.codeSent(channel, 'rate_limited');
    throw err;
  }
}

/** A send the SMS budget refused is not counted against the user either. */
function forgetAndRethrow(deps: TfDeps, sendId: number): (err: unknown) => Promise<never> {
  return async (err) => {
    await forgetSend(deps, sendId);
    throw err;
  };
}

/** Delivers a code for a send already reserved with reserveSend. */
export async function deliverCode(deps: TfDeps, target: CodeTarget, sendId: number, ctx: AuditContext): Promise<void> {
  const code = randomOtpCode();
  const seconds = validitySeconds(deps, target.channel);
  const input = { code, minutesValid: seconds / 60, appName: deps.config.SECURITY_TOTP_ISSUER };
  try {
    if (target.channel === 'sms') {
      await deps.senders.sms.send(codeSms(target.destination, input));
    } else {
      const build =
        target.purpose === 'rescue' ? rescueCodeEmail : target.purpose === 'setup' ? setupCodeEmail : signInCodeEmail;
      await deps.senders.email.send(build(target.destination, input));
    }
  } catch (err) {
    await forgetSend(deps, sendId);
    deps.metrics.codeSent(target.channel, 'failed');
    deps.metrics.senderFailure(target.channel);
    await deps.audit.record(deps.db, 'code.send_failed', target.userId, ctx, {
      channel: target.channel,
      purpose: target.purpose,
    });
    if (err instanceof DeliveryError) throw new AppError('FAILED_TO_SEND_CODE');
    throw err;
  }
  await storeCode(deps.db, target.pendingId, {
    hash: codeHash(deps, target.pendingId, target.destination, code),
    purpose: target.purpose,
    destination: target.destination,
    expiresAt: new Date(deps.clock.now().getTime() + seconds * 1000),
  });
  deps.metrics.codeSent(target.channel, 'sent');
  await deps.audit.record(deps.db, 'code.sent', target.userId, ctx, {
    channel: target.channel,
    purpose: target.purpose,
  });
}
