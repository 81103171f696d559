import { AppError } from '../errors.js';
import type { User } from '../users/users.repository.js';
import { codeHash } from './factors/send-code.js';
import { secretAad, type TfDeps } from './deps.js';
import { codeDestination } from './login.service.js';
import { consumeCode, type Pending } from './pending.repository.js';
import { verifyTotp } from './factors/totp.js';

export type CodeCheck = { ok: true; method: string; totpStep?: number; rescue?: boolean } | { ok: false };

/**
 * Checks a 6-digit code against what the pending state expects: the new
 * setup while validating a profile, the user's method when `ready`. A sent
 * code (e-mail, SMS, rescue e-mail) is consumed atomically on success.
 */
export async function checkCode(deps: TfDeps, pending: Pending, user: User, code: string): Promise<CodeCheck> {
  const now = deps.clock.now();
  const setup = pending.state === 'validating_profile';
  const method = setup ? pending.setup_method : user.tf_primary_method;
  if (!method) return { ok: false };

  // A rescue code e-mailed during a `ready` sign-in is accepted whatever the method (SPEC §3 rescue).
  if (!setup && pending.code_purpose === 'rescue' && pending.code_destination) {
    if (await consumeCode(deps.db, pending.id, codeHash(deps, pending.id, pending.code_destination, code), now))
      return { ok: true, method: 'email', rescue: true };
  }

  if (method === 'authenticator') {
    const box = setup ? pending.setup_secret : user.tf_totp_secret;
    if (!box) return { ok: false };
    const secret = deps.box.decrypt(box, secretAad(user.id));
    const result = await verifyTotp({
      secret,
      code,
      now,
      windowSeconds: deps.config.SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY,
      // Replay refusal (SPEC §4.3): a step at or before the last accepted one never counts
      // again. A new secret being set up has no history to replay.
      afterTimeStep: setup ? undefined : (user.tf_totp_last_step ?? undefined),
    });
    return result.ok ? { ok: true, method, totpStep: result.timeStep } : { ok: false };
  }

  const expected = setup
    ? { destination: method === 'sms' ? pending.setup_phone : user.email }
    : { destination: codeDestination(user, method)?.destination ?? null };
  if (!expected.destination || pending.code_destination !== expected.destination) return { ok: false };
  const hash = codeHash(deps, pending.id, expected.destination, code);
  return (await consumeCode(deps.db, pending.id, hash, now)) ? { ok: true, method } : { ok: false };
}

/** TWO_FACTOR_LOCKED with the seconds left, for Retry-After. */
export function lockedError(until: Date, now: Date): AppError {
  return new AppError('TWO_FACTOR_LOCKED', {
    retryAfter: Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)),
  });
}
