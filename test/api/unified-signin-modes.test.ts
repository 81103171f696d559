import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, METRICS_AUTH, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn, STEP_MS } from '../helpers/two-factor.js';
import { US_ENV, usSetup } from '../helpers/unified-signin.js';

/**
 * Unified sign-in with the settings around it: remembered devices and
 * SECURITY_TWO_FACTOR_REQUIRED apply after a passcode in US_MFA_REQUIRED as
 * after /login; SECURITY_US_SIGNIN_REPLACES_LOGIN serves it at /login; the
 * sign-in counters count it.
 */
describe(`unified sign-in with other settings (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ ...US_ENV, SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false' });
  });
  after(() => t.close());

  async function user(): Promise<string> {
    const email = uniqueEmail('usm');
    await createUser(t.database, email, 'password-1');
    return email;
  }

  test('a remembered device skips the second factor after a password passcode', async () => {
    const email = await user();
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    const c = new Client(() => t.app);
    const first = await c.post('/us-signin', { identity: email, passcode: 'password-1', remember: true });
    assert.equal(first.data.response.tf_state, 'ready');
    const ok = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.match(String(ok.headers['set-cookie']), /tf_validity=/);
    await c.post('/logout');
    t.clock.advance(STEP_MS);
    const again = await c.post('/us-signin', { identity: email, passcode: 'password-1' });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.data.response.tf_required, false);
    assert.deepEqual((await c.get('/me')).data.response.authn_methods, ['password', 'remembered_device']);
  });

  test('SECURITY_TWO_FACTOR_REQUIRED: a password passcode without a second factor must set one up', async () => {
    await t.rebuild({ ...US_ENV, SECURITY_TWO_FACTOR_REQUIRED: 'true' });
    try {
      const email = await user();
      const c = new Client(() => t.app);
      const res = await c.post('/us-signin', { identity: email, passcode: 'password-1' });
      assert.deepEqual(
        { ...res.data.response, csrf_token: undefined },
        {
          csrf_token: undefined,
          tf_required: true,
          tf_state: 'setup_from_login',
        },
      );
      const setup = await c.post('/tf-setup', { setup: 'email' });
      assert.equal(setup.statusCode, 200, setup.body);
      const ok = await c.post('/tf-validate', { code: t.senders.lastCode(email) });
      assert.equal(ok.statusCode, 200, ok.body);
    } finally {
      await t.rebuild({ ...US_ENV, SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false' });
    }
  });

  test('SECURITY_US_SIGNIN_REPLACES_LOGIN: /login is unified sign-in', async () => {
    await t.rebuild({ ...US_ENV, SECURITY_US_SIGNIN_REPLACES_LOGIN: 'true' });
    try {
      const email = await user();
      const key = (await usSetup(t, await signedInAt(email), 'authenticator'))!;
      const c = new Client(() => t.app);
      const info = await c.get('/login');
      assert.deepEqual(info.data.response.available_methods, ['password', 'email', 'authenticator', 'sms']);
      const res = await c.post('/login', { identity: email, passcode: oathtool(key, t.clock.now()) });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.data.response.tf_required, false);
      const old = await new Client(() => t.app).post('/login', { email, password: 'password-1' });
      assert.equal(old.statusCode, 400, 'the password form is gone: identity and passcode are required');
      assert.equal(old.data.response.error_code, 'REQUIRED');
    } finally {
      await t.rebuild({ ...US_ENV, SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false' });
    }
  });

  test('metrics count unified sign-ins and their codes', async () => {
    const email = await user();
    await usSetup(t, await signedIn(t, email, 'password-1'), 'email');
    const c = new Client(() => t.app);
    t.clock.advance(31_000);
    await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    await c.post('/us-signin', { identity: email, passcode: t.senders.lastCode(email) });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_AUTH })).body;
    assert.match(metrics, /tfa_signins_total\{outcome="success"\} [1-9]/);
    assert.match(metrics, /tfa_codes_sent_total\{method="email",outcome="sent"\} [1-9]/);
    assert.match(metrics, /tfa_codes_validated_total\{method="email",outcome="success"\} [1-9]/);
  });

  /** Signs in with the password at /us-signin (the password form is gone with REPLACES_LOGIN). */
  async function signedInAt(email: string): Promise<Client> {
    const c = new Client(() => t.app);
    const res = await c.post('/login', { identity: email, passcode: 'password-1' });
    assert.equal(res.statusCode, 200, res.body);
    return c;
  }
});
