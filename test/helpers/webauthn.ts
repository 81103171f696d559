import assert from 'node:assert/strict';
import type { Client } from './client.js';
import { SoftAuthenticator, type SoftOptions } from './soft-authenticator.js';

/** The page the keys are used on in these tests, and the settings that name it. */
export const WAN_ORIGIN = 'http://localhost:5173';
export const WAN_ENV = {
  SECURITY_WEBAUTHN: 'true',
  SECURITY_WAN_RP_ID: 'localhost',
  SECURITY_WAN_ORIGINS: WAN_ORIGIN,
};

export function softKey(opts: Partial<SoftOptions> = {}): SoftAuthenticator {
  return new SoftAuthenticator({ origin: WAN_ORIGIN, ...opts });
}

/** Registers a key for a signed-in (fresh) client the way a browser page would. */
export async function registerKey(c: Client, name: string, key = softKey()): Promise<SoftAuthenticator> {
  const start = await c.post('/wan-register', { name, usage: 'secondary' });
  assert.equal(start.statusCode, 200, start.body);
  const { credential_options: options, wan_state: state } = start.data.response;
  // Flask-Security's clients send the credential as a JSON string.
  const done = await c.post(`/wan-register/${state}`, { credential: JSON.stringify(key.register(options)) });
  assert.equal(done.statusCode, 200, done.body);
  return key;
}

/** POST /wan-signin: the request options and wan_state of a pending sign-in. */
export async function signinOptions(c: Client): Promise<{ options: any; state: string }> {
  const res = await c.post('/wan-signin', {});
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.data.response.is_secondary, true);
  return { options: res.data.response.credential_options, state: res.data.response.wan_state };
}

/** The second step with a key: options, assertion, answer. */
export async function signInWithKey(c: Client, key: SoftAuthenticator) {
  const { options, state } = await signinOptions(c);
  return c.post(`/wan-signin/${state}`, { credential: JSON.stringify(key.assert(options)) });
}
