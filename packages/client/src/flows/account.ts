import type { TfaClient } from '../client.js';
import type { Device, Me, User } from './types.js';

/** GET /me: the signed-in user (401 `UNAUTHENTICATED` otherwise). */
export function me(client: TfaClient): Promise<Me> {
  return client.call('get', '/me');
}

/** GET /login: the signed-in user, or null. For restoring an SPA's state after a reload; also fetches the CSRF token. */
export async function currentUser(client: TfaClient): Promise<User | null> {
  const answer = await client.call('get', '/login');
  return answer.user ?? null;
}

/** POST /logout: ends the session (a pending sign-in too). Remembered devices stay remembered. */
export async function signOut(client: TfaClient): Promise<void> {
  await client.call('post', '/logout');
  client.forgetSession();
}

/** POST /verify: the password again, when a call answered 401 with `reauthRequired` (freshness). */
export async function reauthenticate(client: TfaClient, password: string): Promise<User> {
  const answer = await client.call('post', '/verify', { body: { password }, query: client.signInQuery() });
  return answer.user;
}

/** POST /mf-recovery-codes: replaces every recovery code with new ones, returned this once. */
export async function generateRecoveryCodes(client: TfaClient): Promise<string[]> {
  const answer = await client.call('post', '/mf-recovery-codes');
  return answer.recovery_codes;
}

/** GET /mf-recovery-codes: how many unused recovery codes are left (the codes themselves are never shown again). */
export async function recoveryCodesRemaining(client: TfaClient): Promise<number> {
  const answer = await client.call('get', '/mf-recovery-codes');
  return answer.recovery_codes_remaining;
}

/** GET /tf-devices: the remembered devices, newest first; `current` marks this one. */
export async function listDevices(client: TfaClient): Promise<Device[]> {
  return (await client.call('get', '/tf-devices')).devices;
}

/** DELETE /tf-devices/{id}: forgets one device; answers the remaining ones. */
export async function forgetDevice(client: TfaClient, id: string): Promise<Device[]> {
  return (await client.call('delete', '/tf-devices/{id}', { params: { id } })).devices;
}

/** DELETE /tf-devices: forgets every remembered device, this one included. */
export async function forgetAllDevices(client: TfaClient): Promise<Device[]> {
  return (await client.call('delete', '/tf-devices')).devices;
}
