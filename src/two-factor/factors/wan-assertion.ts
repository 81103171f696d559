import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AuditContext } from '../../audit/audit.js';
import { AppError } from '../../errors.js';
import { noVerify, relyingParty, type CeremonyDeps } from './wan-ceremony.js';
import {
  advanceCounter,
  consumeChallenge,
  handleOf,
  keyById,
  type StoredChallenge,
  type StoredKey,
} from './webauthn.repository.js';

export type AssertionCheck = { ok: true; key: StoredKey } | { ok: false; replay?: boolean; refusal: AppError };

/**
 * The one rule that accepts a security key's assertion (a sign-in's second step, and
 * /wan-verify): the key is one of this user's; @simplewebauthn/server checks the
 * signature over the challenge, the origin, the RP id hash and the flags; then the
 * challenge is used up and the counter moved on, each by one statement, so a replayed or
 * duplicated assertion passes once and a counter that went back (a cloned key) is refused
 * and audited (README "Security keys").
 */
export async function checkAssertion(
  deps: CeremonyDeps,
  a: { userId: number; response: AuthenticationResponseJSON; challenge: StoredChallenge; audit: AuditContext },
): Promise<AssertionCheck> {
  const key = await keyById(deps.db, a.response.id);
  // Another user's key is unknown here: the answer does not tell that it exists.
  if (!key || key.user_id !== a.userId)
    return { ok: false, refusal: new AppError('WEBAUTHN_UNKNOWN_CREDENTIAL_ID', { field: 'credential' }) };
  const handle = a.response.response.userHandle;
  if (handle && handle !== (await handleOf(deps.db, a.userId)))
    return { ok: false, refusal: new AppError('WEBAUTHN_MISMATCH_USER_HANDLE', { field: 'credential' }) };
  const { rpID, origins } = relyingParty(deps);
  // Loaded on the first assertion: ~14 MiB of RSS that a service without keys never needs (BENCHMARKS.md).
  const { verifyAuthenticationResponse } = await import('@simplewebauthn/server');
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response: a.response,
      expectedChallenge: a.challenge.challenge,
      expectedOrigin: origins,
      expectedRPID: rpID,
      credential: {
        id: key.credential_id,
        publicKey: new Uint8Array(Buffer.from(key.public_key, 'base64url')),
        // The counter is compared-and-set below, by the database, where a regression is audited.
        counter: 0,
      },
      requireUserVerification: a.challenge.user_verification,
    });
  } catch (err) {
    return { ok: false, refusal: noVerify(err) };
  }
  if (!verified.verified) return { ok: false, refusal: noVerify('signature not verified') };
  const now = deps.clock.now();
  // Right, but its challenge was used a moment ago (a twin of this request): a replay.
  if (!(await consumeChallenge(deps.db, a.challenge.token_hash, now)))
    return { ok: false, replay: true, refusal: new AppError('API_ERROR') };
  const next = verified.authenticationInfo.newCounter;
  const use = { backupState: verified.authenticationInfo.credentialBackedUp, now };
  if (!(await advanceCounter(deps.db, key.id, next, use))) {
    const details = { name: key.name, stored: Number(key.sign_count), presented: next };
    await deps.audit.record(deps.db, 'webauthn.counter_regression', a.userId, a.audit, details);
    return { ok: false, refusal: noVerify('signature counter did not increase') };
  }
  return { ok: true, key };
}
