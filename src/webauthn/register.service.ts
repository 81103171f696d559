import { generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { AuditContext } from '../audit/audit.js';
import { randomToken } from '../crypto/keyed-hash.js';
import { AppError } from '../errors.js';
import {
  keyName,
  liveChallenge,
  newChallenge,
  noVerify,
  readAttestation,
  relyingParty,
  type CeremonyDeps,
} from '../two-factor/factors/wan-ceremony.js';
import {
  consumeChallenge,
  deleteKeyNamed,
  insertKey,
  keyById,
  keyNamed,
  userHandle,
  userKeys,
} from '../two-factor/factors/webauthn.repository.js';

export interface KeyOwner {
  id: number;
  email: string;
}

/** Keys are a second factor here only: Flask-Security turns "first" into "secondary" when first-factor keys are off. */
const USAGE = 'secondary';

/** POST /wan-register {name, usage}: creation options for a new key, and the wan_state naming their challenge. */
export async function beginRegistration(
  deps: CeremonyDeps,
  user: KeyOwner,
  input: { name: string; usage: string | undefined },
): Promise<{ credential_options: unknown; wan_state: string }> {
  const name = keyName(input.name);
  if (input.usage !== undefined && input.usage !== 'first' && input.usage !== 'secondary')
    throw new AppError('API_ERROR', { field: 'usage' });
  if (await keyNamed(deps.db, user.id, name))
    throw new AppError('WEBAUTHN_NAME_INUSE', { field: 'name', params: { name } });
  const handle = await userHandle(deps.db, user.id, randomToken(32));
  const within = deps.config.SECURITY_WAN_REGISTER_WITHIN;
  const { challenge, state } = await newChallenge(deps, {
    purpose: 'register',
    userId: user.id,
    name,
    usage: USAGE,
    within,
  });
  const { rpID } = relyingParty(deps);
  const options = await generateRegistrationOptions({
    rpName: deps.config.SECURITY_WAN_RP_NAME,
    rpID,
    userName: user.email,
    userID: new Uint8Array(Buffer.from(handle, 'base64url')),
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: deps.config.SECURITY_WAN_REGISTER_TIMEOUT,
    attestationType: 'none',
    // The user's keys are excluded, so one authenticator is not registered twice.
    excludeCredentials: (await userKeys(deps.db, user.id)).map((k) => ({ id: k.credential_id })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: deps.config.SECURITY_WAN_USER_VERIFICATION },
    extensions: { credProps: true },
  });
  return { credential_options: options, wan_state: state };
}

/**
 * POST /wan-register/{wan_state} {credential}: the attestation is verified by
 * @simplewebauthn/server (challenge, origin, RP id hash, attestation statement), then the
 * challenge is used up and the key stored, in one transaction.
 */
export async function finishRegistration(
  deps: CeremonyDeps,
  user: KeyOwner,
  state: string,
  rawCredential: unknown,
  audit: AuditContext,
): Promise<void> {
  const within = deps.config.SECURITY_WAN_REGISTER_WITHIN;
  const challenge = await liveChallenge(deps, state, { purpose: 'register', userId: user.id, within });
  const response = readAttestation(rawCredential);
  const name = challenge.name ?? '';
  if (await keyNamed(deps.db, user.id, name))
    throw new AppError('WEBAUTHN_NAME_INUSE', { field: 'credential', params: { name } });
  const { rpID, origins } = relyingParty(deps);
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: origins,
      expectedRPID: rpID,
      requireUserVerification: challenge.user_verification,
    });
  } catch (err) {
    throw noVerify(err);
  }
  if (!verified.verified) throw noVerify('attestation not verified');
  const info = verified.registrationInfo;
  if (await keyById(deps.db, info.credential.id))
    throw new AppError('WEBAUTHN_CREDENTIAL_ID_INUSE', { field: 'credential' });
  const rk = response.clientExtensionResults?.credProps?.rk;
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    if (!(await consumeChallenge(trx, challenge.token_hash, now))) throw new AppError('API_ERROR');
    const stored = await insertKey(trx, {
      user_id: user.id,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      sign_count: info.credential.counter,
      transports: JSON.stringify(response.response.transports ?? []),
      backup_eligible: info.credentialDeviceType === 'multiDevice',
      backup_state: info.credentialBackedUp,
      device_type: info.credentialDeviceType,
      usage: challenge.usage ?? USAGE,
      discoverable: typeof rk === 'boolean' ? rk : null,
      name,
      created_at: now,
    });
    // Taken by a concurrent registration of the same name or key.
    if (!stored) throw new AppError('WEBAUTHN_NAME_INUSE', { field: 'credential', params: { name } });
    await deps.audit.record(trx, 'webauthn.registered', user.id, audit, {
      name,
      device_type: info.credentialDeviceType,
    });
  });
}

/** POST /wan-delete {name}. */
export async function deleteKey(
  deps: CeremonyDeps,
  user: KeyOwner,
  rawName: string,
  audit: AuditContext,
): Promise<void> {
  const name = keyName(rawName);
  await deps.db.transaction().execute(async (trx) => {
    if (!(await deleteKeyNamed(trx, user.id, name)))
      throw new AppError('WEBAUTHN_NAME_NOT_FOUND', { field: 'name', params: { name } });
    await deps.audit.record(trx, 'webauthn.deleted', user.id, audit, { name });
  });
}

/** GET /wan-register: the user's keys as Flask-Security lists them, with `created` added. */
export async function listKeys(deps: CeremonyDeps, userId: number): Promise<Record<string, unknown>[]> {
  return (await userKeys(deps.db, userId)).map((k) => ({
    name: k.name,
    credential_id: k.credential_id,
    transports: JSON.parse(k.transports) as string[],
    usage: k.usage,
    backup_state: k.backup_state,
    device_type: k.device_type,
    discoverable: k.discoverable ?? 'Unknown',
    created: k.created_at.toISOString(),
    // Flask-Security counts the registration as the first use.
    lastuse: (k.last_used_at ?? k.created_at).toISOString(),
  }));
}
