import type { User } from '../../users/users.repository.js';
import { consumeCode } from '../pending.repository.js';
import type { TfDeps } from '../deps.js';
import {
  enrolled,
  type Attempt,
  type Enrolment,
  type Factor,
  type FactorId,
  type Proof,
  type Verdict,
} from './factor.js';
import { normalizePhone } from './phone.js';
import { codeHash, deliverCode, reserveSend, type Channel } from './send-code.js';
import { ValidationError } from '../../errors.js';
import { checkSmsCountry } from '../../sms-budget/sms-budget.js';

/**
 * A 6-digit code sent by e-mail or SMS. Only its keyed hash is kept on the
 * pending row, bound to the row and the destination, with an expiry; the
 * code that passes is used up by the statement that checks it, so it
 * passes once (openapi.yaml, /tf-validate).
 */
export function sentCode(channel: Channel): Factor {
  const id: FactorId = channel;
  return {
    id,

    async enrol(deps, user, input, audit) {
      if (channel !== 'sms') return { enrolment: { secret: null, phone: null }, answer: {} };
      const phone = input.phone === undefined ? null : normalizePhone(input.phone);
      if (!phone) throw new ValidationError([{ field: 'phone', key: 'PHONE_INVALID' }]);
      // SMS pumping: only numbers in SECURITY_SMS_ALLOWED_COUNTRIES may be chosen (README, "Abuse resistance").
      await checkSmsCountry(deps, phone, user.id, audit);
      return { enrolment: { secret: null, phone }, answer: {} };
    },

    async challenge(deps, user, enrolment, audit) {
      const to = destination(channel, user, enrolment);
      if (!to) return null;
      const sendId = await reserveSend(deps, user.id, channel, to, audit);
      return {
        issue: (pendingId, purpose, audit) =>
          deliverCode(deps, { pendingId, userId: user.id, channel, destination: to, purpose }, sendId, audit),
      };
    },

    async verify(deps, proof, attempt) {
      const to = destination(channel, attempt.user, attempt.enrolment);
      if (proof.kind !== 'code' || proof.code === null || !to) return { ok: false };
      // The code went to this very destination: a code sent before a change of number does not count.
      if (attempt.pending.code_destination !== to) return { ok: false };
      return (await useCode(deps, attempt, to, proof.code)) ? { ok: true, factor: id } : { ok: false };
    },

    confirmed({ enrolment }) {
      return { changes: enrolment ? enrolled(id, { phone: channel === 'sms' ? enrolment.phone : null }) : {} };
    },
  };
}

/**
 * The rescue code (/tf-rescue `email`): a sent code to the account's e-mail
 * that a `ready` sign-in accepts whatever the user's own factor is. Tried
 * before that factor; it changes nothing on the user.
 */
export const rescueEmail = {
  async verify(deps: TfDeps, proof: Proof, attempt: Attempt): Promise<Verdict> {
    const { pending } = attempt;
    if (attempt.enrolment || pending.code_purpose !== 'rescue' || !pending.code_destination) return { ok: false };
    if (proof.kind !== 'code' || proof.code === null) return { ok: false };
    const used = await useCode(deps, attempt, pending.code_destination, proof.code);
    return used ? { ok: true, factor: 'email', rescue: true } : { ok: false };
  },
  confirmed: () => ({ changes: {} }),
} satisfies Pick<Factor, 'verify' | 'confirmed'>;

/** Where a code goes: the account's e-mail, or the phone (the one being set up, else the user's). */
function destination(channel: Channel, user: User, enrolment: Enrolment | null): string | null {
  if (channel === 'email') return user.email;
  return enrolment ? enrolment.phone : user.tf_phone_number;
}

/** Uses the pending row's code up if it is this one, unexpired: single use, decided by the database. */
function useCode(deps: TfDeps, { pending, now }: Attempt, to: string, code: string): Promise<boolean> {
  return consumeCode(deps.db, pending.id, codeHash(deps, pending.id, to, code), now);
}
