import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn, STEP_MS } from '../helpers/two-factor.js';
import { US_ENV, usSetup } from '../helpers/unified-signin.js';

const PHONE = '+14155550123';
// Freshness shorter than the session's life, so a stale session can be shown.
const ENV = { ...US_ENV, SECURITY_FRESHNESS: '1 hour', SECURITY_FRESHNESS_GRACE_PERIOD: '60' };

describe(`unified sign-in (${DB_KIND})`, () => {
  let t: TestApp;
  const client = () => new Client(() => t.app);
  before(async () => {
    t = await createTestApp(ENV);
  });
  after(() => t.close());

  async function user(): Promise<{ email: string; id: number }> {
    const email = uniqueEmail('us');
    const u = await createUser(t.database, email, 'password-1');
    return { email, id: u.id };
  }
  const strip = (r: Record<string, unknown>) => ({ ...r, csrf_token: undefined });

  test('GET /us-signin answers as Flask-Security', async () => {
    const res = await client().get('/us-signin');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(strip(res.data.response), {
      csrf_token: undefined,
      available_methods: ['password', 'email', 'authenticator', 'sms'],
      code_methods: ['email', 'sms'],
      identity_attributes: ['email'],
    });
  });

  test('password as passcode: in US_MFA_REQUIRED, a user without 2FA is signed in', async () => {
    const { email } = await user();
    const c = client();
    const res = await c.post('/us-signin?include_auth_token', { identity: email, passcode: 'password-1' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.data.response.tf_required, false);
    assert.ok(res.data.response.user.authentication_token);
    const me = await c.get('/me');
    assert.deepEqual(me.data.response.authn_methods, ['password']);
  });

  test('password with a second factor answers as /login, and /tf-validate completes it', async () => {
    const { email } = await user();
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    const c = client();
    const res = await c.post('/us-signin', { identity: email, passcode: 'password-1' });
    assert.deepEqual(strip(res.data.response), {
      csrf_token: undefined,
      tf_required: true,
      tf_state: 'ready',
      tf_primary_method: 'authenticator',
      tf_method: 'authenticator',
    });
    assert.equal((await c.get('/me')).statusCode, 401);
    const ok = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await c.get('/me')).statusCode, 200);
  });

  test('e-mail code: set up, sent, signs in (then the second factor, e-mail being in US_MFA_REQUIRED)', async () => {
    const { email } = await user();
    const s = await signedIn(t, email, 'password-1');
    await usSetup(t, s, 'email');
    const setupInfo = await s.get('/us-setup');
    assert.deepEqual(setupInfo.data.response.active_methods, ['password', 'email']);
    const key = await enrolAuthenticator(t, s);

    const c = client();
    const sent = await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    assert.equal(sent.statusCode, 200, sent.body);
    const code = t.senders.lastCode(email);
    const res = await c.post('/us-signin', { identity: email, passcode: code });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.data.response.tf_required, true);
    assert.equal(res.data.response.tf_state, 'ready');
    const ok = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(ok.statusCode, 200, ok.body);
    const me = await c.get('/me');
    assert.deepEqual(
      me.data.response.authn_methods,
      ['email', 'authenticator'],
      'the first factor was the e-mail code',
    );
  });

  test('US_MFA_REQUIRED without e-mail: an e-mail code signs in at once, even with a second factor', async () => {
    await t.rebuild({ ...ENV, SECURITY_US_MFA_REQUIRED: 'password' });
    try {
      const { email } = await user();
      const s = await signedIn(t, email, 'password-1');
      await usSetup(t, s, 'email');
      await enrolAuthenticator(t, s);
      const c = client();
      await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
      const res = await c.post('/us-signin', { identity: email, passcode: t.senders.lastCode(email) });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.data.response.tf_required, false);
      assert.deepEqual((await c.get('/me')).data.response.authn_methods, ['email']);
    } finally {
      await t.rebuild(ENV);
    }
  });

  test('SMS code: set up with the phone, sent, signs in without a second factor (not in US_MFA_REQUIRED)', async () => {
    const { email } = await user();
    const s = await signedIn(t, email, 'password-1');
    await usSetup(t, s, 'sms', '+1 415 555 0123');
    assert.equal((await s.get('/us-setup')).data.response.phone, PHONE);
    await enrolAuthenticator(t, s);
    const c = client();
    const sent = await c.post('/us-signin/send-code', { identity: email, chosen_method: 'sms' });
    assert.equal(sent.statusCode, 200, sent.body);
    const res = await c.post('/us-signin', { identity: email, passcode: t.senders.lastCode(PHONE) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.data.response.tf_required, false);
    assert.deepEqual((await c.get('/me')).data.response.authn_methods, ['sms']);
  });

  test('authenticator code signs in; the same code again is a replay', async () => {
    const { email } = await user();
    const key = (await usSetup(t, await signedIn(t, email, 'password-1'), 'authenticator'))!;
    const code = oathtool(key, t.clock.now());
    const c = client();
    const res = await c.post('/us-signin', { identity: email, passcode: code });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.data.response.tf_required, false);
    const again = await client().post('/us-signin', { identity: email, passcode: code });
    assert.equal(again.statusCode, 400);
    assert.equal(again.data.response.error_code, 'INVALID_PASSWORD_CODE');
    t.clock.advance(STEP_MS);
    // A code may come as a JSON number; leading zeros are restored (openapi.yaml, UsSigninRequest).
    const later = await client().post('/us-signin', {
      identity: email,
      passcode: Number(oathtool(key, t.clock.now())),
    });
    assert.equal(later.statusCode, 200, later.body);
  });

  test('a sent code is single use, bound to its identity, and expires', async () => {
    const { email } = await user();
    const other = await user();
    await usSetup(t, await signedIn(t, email, 'password-1'), 'email');
    const c = client();
    await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    const code = t.senders.lastCode(email);
    const wrongUser = await c.post('/us-signin', { identity: other.email, passcode: code });
    assert.equal(wrongUser.data.response.error_code, 'INVALID_PASSWORD_CODE');
    t.clock.advance(121_000);
    const late = await c.post('/us-signin', { identity: email, passcode: code });
    assert.equal(late.data.response.error_code, 'INVALID_PASSWORD_CODE', 'expired after SECURITY_US_TOKEN_VALIDITY');

    t.clock.advance(31_000);
    await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    const fresh = t.senders.lastCode(email);
    assert.equal((await c.post('/us-signin', { identity: email, passcode: fresh })).statusCode, 200);
    await c.post('/logout');
    const reused = await c.post('/us-signin', { identity: email, passcode: fresh });
    assert.equal(reused.data.response.error_code, 'INVALID_PASSWORD_CODE');
  });

  test('unknown identity and wrong passcode get one answer; send-code too', async () => {
    const { email } = await user();
    const unknown = await client().post('/us-signin', { identity: uniqueEmail('nobody'), passcode: 'password-1' });
    const wrong = await client().post('/us-signin', { identity: email, passcode: 'password-2' });
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(strip(unknown.data.response), strip(wrong.data.response));
    assert.deepEqual(unknown.data.response.field_errors, { passcode: ['Password or code submitted is not valid'] });
    const s1 = await client().post('/us-signin/send-code', { identity: uniqueEmail('nobody'), chosen_method: 'email' });
    const s2 = await client().post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    assert.equal(s1.statusCode, 400);
    assert.deepEqual(strip(s1.data.response), strip(s2.data.response));
    assert.equal(s1.data.response.error_code, 'US_METHOD_NOT_AVAILABLE');
  });

  test('generic responses: GENERIC_AUTHN_FAILED, send-code always succeeds, nothing sent for nobody', async () => {
    await t.rebuild({ ...ENV, SECURITY_US_RETURN_GENERIC_RESPONSES: 'true' });
    try {
      const { email } = await user();
      const wrong = await client().post('/us-signin', { identity: email, passcode: 'nope-nope' });
      assert.equal(wrong.data.response.error_code, 'GENERIC_AUTHN_FAILED');
      const before = t.senders.emails.length;
      const s = await client().post('/us-signin/send-code', {
        identity: uniqueEmail('nobody'),
        chosen_method: 'email',
      });
      assert.equal(s.statusCode, 200);
      const s2 = await client().post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
      assert.equal(s2.statusCode, 200, 'no e-mail method set up: still a success');
      assert.equal(t.senders.emails.length, before);
    } finally {
      await t.rebuild(ENV);
    }
  });

  test('us-setup needs a fresh session; its token expires; a wrong code stores nothing', async () => {
    const { email, id } = await user();
    const s = await signedIn(t, email, 'password-1');
    const start = await s.post('/us-setup', { chosen_method: 'sms', phone: PHONE });
    const token = start.data.response.state;
    const bad = await s.post(`/us-setup/${token}`, { passcode: '000000' });
    assert.equal(bad.data.response.error_code, 'INVALID_PASSWORD_CODE');
    const rows = await t.database.db.selectFrom('us_methods').selectAll().where('user_id', '=', id).execute();
    assert.equal(rows.length, 0, 'nothing stored before the proof');
    t.clock.advance(31 * 60 * 1000);
    const late = await s.post(`/us-setup/${token}`, { passcode: t.senders.lastCode(PHONE) });
    assert.equal(late.data.response.error_code, 'US_SETUP_EXPIRED');
    t.clock.advance(2 * 3600 * 1000);
    const stale = await s.get('/us-setup');
    assert.equal(stale.statusCode, 401);
    assert.equal(stale.data.response.reauth_required, true);
  });

  test('us-verify with a sent code makes the session fresh; delete_method removes a method', async () => {
    const { email } = await user();
    const s = await signedIn(t, email, 'password-1');
    await usSetup(t, s, 'email');
    t.clock.advance(2 * 3600 * 1000);
    assert.equal((await s.get('/us-setup')).statusCode, 401);
    const info = await s.get('/us-verify');
    assert.deepEqual(info.data.response.code_methods, ['email']);
    assert.equal((await s.post('/us-verify/send-code', { chosen_method: 'email' })).statusCode, 200);
    const wrong = await s.post('/us-verify', { passcode: '000000' });
    assert.equal(wrong.data.response.error_code, 'INVALID_PASSWORD_CODE');
    const ok = await s.post('/us-verify', { passcode: t.senders.lastCode(email) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await s.get('/us-setup')).statusCode, 200);
    const del = await s.post('/us-setup', { delete_method: ['email'] });
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual((await s.get('/us-setup')).data.response.active_methods, ['password']);
    const pw = await s.post('/us-setup', { delete_method: 'password' });
    assert.equal(pw.data.response.error_code, 'US_METHOD_NOT_AVAILABLE');
  });

  test('off by default: no /us-* route', async () => {
    await t.rebuild({});
    try {
      assert.equal((await client().get('/us-signin')).statusCode, 404);
      // The contract documents the unified sign-in paths as they are when on.
      t.contract.clear();
    } finally {
      await t.rebuild(ENV);
    }
  });
});
