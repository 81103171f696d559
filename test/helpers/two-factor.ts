import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { Client } from './client.js';
import { oathtool, scanQrSvg, svgOfDataUri } from './real-clients.js';

/** A user's second-factor lockout columns (failures, lock, lockouts), as the security tests compare them. */
export async function lockoutCounters(t: Pick<TestApp, 'database'>, userId: number) {
  return t.database.db
    .selectFrom('users')
    .select(['tf_failures', 'tf_locked_until', 'tf_lockouts'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}

/** 30 s: one TOTP step. Tests move the clock a step on so a new code is not a replay. */
export const STEP_MS = 30_000;

/** A six-digit code that is not the authenticator's code at `at`: a wrong guess. */
export function wrongCode(key: string, at: Date): string {
  return oathtool(key, at) === '000000' ? '000001' : '000000';
}

/**
 * Sets up an authenticator for a signed-in client the way a person would:
 * scan the QR code (zbarimg), type the code the app shows (oathtool).
 */
export async function enrolAuthenticator(t: TestApp, c: Client): Promise<string> {
  const setup = await c.post('/tf-setup', { setup: 'authenticator' });
  assert.equal(setup.statusCode, 200, setup.body);
  const r = setup.data.response;
  assert.equal(scanQrSvg(svgOfDataUri(r.tf_authr_qrcode)), r.tf_authr_uri, 'the QR code encodes tf_authr_uri');
  const ok = await c.post('/tf-validate', { code: oathtool(r.tf_authr_key, t.clock.now()) });
  assert.equal(ok.statusCode, 200, ok.body);
  t.clock.advance(STEP_MS);
  return r.tf_authr_key as string;
}

/** Sets up e-mail codes for a signed-in client, reading the code from the recorded e-mail. */
export async function enrolEmail(t: TestApp, c: Client, email: string): Promise<void> {
  const setup = await c.post('/tf-setup', { setup: 'email' });
  assert.equal(setup.statusCode, 200, setup.body);
  const ok = await c.post('/tf-validate', { code: t.senders.lastCode(email) });
  assert.equal(ok.statusCode, 200, ok.body);
  t.clock.advance(STEP_MS);
}

export async function signedIn(t: TestApp, email: string, password: string): Promise<Client> {
  const c = new Client(() => t.app);
  const res = await c.login(email, password);
  assert.equal(res.statusCode, 200, res.body);
  return c;
}
