import { generateAuthenticationOptions } from '@simplewebauthn/server';
import type { Caller } from '../caller.js';
import type { TfDeps } from '../two-factor/deps.js';
import type { WithFactors } from '../two-factor/factors/factor.js';
import { checkAssertion } from '../two-factor/factors/wan-assertion.js';
import {
  liveChallenge,
  newChallenge,
  readAssertion,
  relyingParty,
  type CeremonyDeps,
} from '../two-factor/factors/wan-ceremony.js';
import { userKeys } from '../two-factor/factors/webauthn.repository.js';
import { STEP } from '../two-factor/flow.js';
import { requirePending } from '../two-factor/pending.js';
import { validateProof, type StepOutcome } from '../two-factor/validate.service.js';

/** Request options for the user's keys over a fresh challenge. */
async function requestOptions(
  deps: CeremonyDeps,
  userId: number,
  scope: { purpose: 'signin' | 'verify'; pendingId?: string },
): Promise<{ credential_options: unknown; wan_state: string }> {
  const within = deps.config.SECURITY_WAN_SIGNIN_WITHIN;
  const { challenge, state } = await newChallenge(deps, { ...scope, userId, within });
  const keys = await userKeys(deps.db, userId);
  const options = await generateAuthenticationOptions({
    rpID: relyingParty(deps).rpID,
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: deps.config.SECURITY_WAN_SIGNIN_TIMEOUT,
    allowCredentials: keys.map((k) => ({ id: k.credential_id, transports: JSON.parse(k.transports) as never })),
    userVerification: deps.config.SECURITY_WAN_USER_VERIFICATION,
  });
  return { credential_options: options, wan_state: state };
}

/** POST /wan-signin: the second step of a pending sign-in (state `ready`) asks for an assertion. */
export async function keySigninOptions(deps: TfDeps, caller: Caller): Promise<Record<string, unknown>> {
  const { pending, user } = await requirePending(deps, caller, STEP.keySignin);
  const options = await requestOptions(deps, user.id, { purpose: 'signin', pendingId: pending.id });
  return { ...options, remember: pending.remember, is_secondary: true };
}

/**
 * POST /wan-signin/{wan_state} {credential}: state, then input (the credential and the
 * wan_state, never charged when malformed or expired), then the guess is charged and
 * checked as any second factor's (two-factor/validate.service.ts): attempt cap, lockout,
 * rescue, remembered device, audit.
 */
export async function keySignin(
  deps: TfDeps & WithFactors,
  caller: Caller,
  state: string,
  rawCredential: unknown,
): Promise<StepOutcome> {
  const { pending, user } = await requirePending(deps, caller, STEP.keySignin);
  const credential = readAssertion(rawCredential);
  const within = deps.config.SECURITY_WAN_SIGNIN_WITHIN;
  await liveChallenge(deps, state, { purpose: 'signin', userId: user.id, pendingId: pending.id, within });
  return validateProof(deps, caller, STEP.keySignin, () => ({ kind: 'assertion', credential, state }));
}

/** POST /wan-verify: a signed-in user asks to reauthenticate with a key. */
export function verifyOptions(deps: CeremonyDeps, userId: number): Promise<Record<string, unknown>> {
  return requestOptions(deps, userId, { purpose: 'verify' });
}

/**
 * POST /wan-verify/{wan_state} {credential}: an assertion by one of this user's keys makes
 * the session fresh (as /verify with the password). Another user's key is refused.
 */
export async function verifyWithKey(
  deps: CeremonyDeps,
  caller: Caller & { auth: NonNullable<Caller['auth']> },
  state: string,
  rawCredential: unknown,
): Promise<void> {
  const userId = caller.auth.userId;
  const within = deps.config.SECURITY_WAN_SIGNIN_WITHIN;
  const challenge = await liveChallenge(deps, state, { purpose: 'verify', userId, within });
  const response = readAssertion(rawCredential);
  const check = await checkAssertion(deps, { userId, response, challenge, audit: caller.audit });
  if (!check.ok) {
    await deps.audit.record(deps.db, 'verify.failure', userId, caller.audit, { method: 'webauthn' });
    throw check.refusal;
  }
  await deps.audit.record(deps.db, 'verify.success', userId, caller.audit, { method: 'webauthn' });
}
