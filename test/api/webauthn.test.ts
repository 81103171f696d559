/**
 * Security keys as a second factor (README "Security keys"), driven with a software
 * authenticator that makes real attestation and assertion objects
 * (test/helpers/soft-authenticator.ts); the service verifies them with
 * @simplewebauthn/server, not mocked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../src/cli/commands.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn } from '../helpers/two-factor.js';
import { registerKey, signinOptions, signInWithKey, softKey, WAN_ENV } from '../helpers/webauthn.js';

describe(`security keys as a second factor (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(WAN_ENV);
  });
  after(() => t.close());

  async function user() {
    const email = uniqueEmail('wan');
    const u = await createUser(t.database, email, 'password-1');
    return { email, id: u.id };
  }
  const audits = (userId: number) =>
    t.database.db
      .selectFrom('audit_events')
      .select(['type', 'details'])
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
  const response = (res: { data: any }) => {
    const { csrf_token: _, ...rest } = res.data.response;
    return rest;
  };

  test('register a key ("none" attestation), then /login asks for it and /wan-signin signs in', async () => {
    const { email, id } = await user();
    const c = await signedIn(t, email, 'password-1');
    const key = await registerKey(c, 'my key');
    const list = await c.get('/wan-register');
    assert.equal(list.statusCode, 200, list.body);
    const [cred] = list.data.response.registered_credentials;
    assert.equal(cred.name, 'my key');
    assert.equal(cred.usage, 'secondary');
    assert.deepEqual(cred.transports, ['usb']);
    assert.equal(cred.credential_id, key.id);
    assert.equal(cred.discoverable, false);
    await c.post('/logout');

    const login = await c.login(email, 'password-1');
    assert.equal(login.statusCode, 200, login.body);
    assert.deepEqual(response(login), {
      tf_required: true,
      tf_state: 'ready',
      tf_primary_method: null,
      tf_method: 'webauthn',
      tf_signin_url: '/wan-signin',
    });
    const done = await signInWithKey(c, key);
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual(response(done), { user: { email }, tf_required: false });
    const me = await c.get('/me');
    assert.deepEqual(me.data.response.authn_methods, ['password', 'webauthn']);
    const rows = await audits(id);
    assert.ok(rows.some((r) => r.type === 'webauthn.registered' && r.details.name === 'my key'));
    assert.ok(rows.some((r) => r.type === 'tf.passed' && r.details.method === 'webauthn'));
    const stored = await t.database.db
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('user_id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(Number(stored.sign_count), key.counter);
    assert.ok(stored.last_used_at);
    assert.match(
      await commands['users:keys']!.run({
        config: t.config,
        db: t.database.db,
        args: { email },
        readStdin: async () => '',
      }),
      /^my key\tsecondary/,
    );
  });

  test('a "packed" self attestation registers too; names are sanitized and unique per user', async () => {
    const { email } = await user();
    const c = await signedIn(t, email, 'password-1');
    await registerKey(c, '  Office key  ', softKey({ attestation: 'packed-self' }));
    const names = (await c.get('/wan-register')).data.response.registered_credentials.map((k: any) => k.name);
    assert.deepEqual(names, ['Office key']);
    const again = await c.post('/wan-register', { name: 'Office key' });
    assert.equal(again.data.response.error_code, 'WEBAUTHN_NAME_INUSE');
    const markup = await c.post('/wan-register', { name: '<img src=x>' });
    assert.equal(markup.data.response.error_code, 'INVALID_INPUT');
    const long = await c.post('/wan-register', { name: 'k'.repeat(65) });
    assert.equal(long.data.response.error_code, 'INVALID_INPUT_LENGTH');
    const missing = await c.post('/wan-register', {});
    assert.equal(missing.data.response.error_code, 'WEBAUTHN_NAME_REQUIRED');
  });

  test('registration from another origin or for another RP id is refused; a wan_state is used once', async () => {
    const { email, id } = await user();
    const c = await signedIn(t, email, 'password-1');
    const start = await c.post('/wan-register', { name: 'k1' });
    const { credential_options: options, wan_state: state } = start.data.response;
    const evil = await c.post(`/wan-register/${state}`, {
      credential: softKey().register(options, { origin: 'https://evil.example' }),
    });
    assert.equal(evil.statusCode, 400);
    assert.equal(evil.data.response.error_code, 'WEBAUTHN_NO_VERIFY');
    const otherRp = await c.post(`/wan-register/${state}`, {
      credential: softKey({ rpId: 'evil.example' }).register(options),
    });
    assert.equal(otherRp.data.response.error_code, 'WEBAUTHN_NO_VERIFY');
    const good = softKey();
    assert.equal((await c.post(`/wan-register/${state}`, { credential: good.register(options) })).statusCode, 200);
    const replay = await c.post(`/wan-register/${state}`, { credential: softKey().register(options) });
    assert.equal(replay.data.response.error_code, 'API_ERROR');
    const keys = await t.database.db
      .selectFrom('webauthn_credentials')
      .select('name')
      .where('user_id', '=', id)
      .execute();
    assert.deepEqual(keys, [{ name: 'k1' }]);
    // The same authenticator again, under another name: its id is taken.
    const second = await c.post('/wan-register', { name: 'k2' });
    const dup = await c.post(`/wan-register/${second.data.response.wan_state}`, {
      credential: good.register(second.data.response.credential_options),
    });
    assert.equal(dup.data.response.error_code, 'WEBAUTHN_CREDENTIAL_ID_INUSE');
  });

  test('an expired wan_state is WEBAUTHN_EXPIRED, at registration and at sign-in', async () => {
    const { email } = await user();
    const c = await signedIn(t, email, 'password-1');
    const start = await c.post('/wan-register', { name: 'slow' });
    t.clock.advance(31 * 60 * 1000);
    const late = await c.post(`/wan-register/${start.data.response.wan_state}`, {
      credential: softKey().register(start.data.response.credential_options),
    });
    assert.equal(late.data.response.error_code, 'WEBAUTHN_EXPIRED');
    assert.match(late.data.response.errors[0], /30 minutes/);
    await c.post('/verify', { password: 'password-1' });
    const key = await registerKey(c, 'fast');
    await c.post('/logout');
    await c.login(email, 'password-1');
    const { options, state } = await signinOptions(c);
    t.clock.advance(61 * 1000);
    const expired = await c.post(`/wan-signin/${state}`, { credential: key.assert(options) });
    assert.equal(expired.data.response.error_code, 'WEBAUTHN_EXPIRED');
  });

  test('sign-in: wrong origin, wrong RP id, a replayed challenge and a deleted key are refused', async () => {
    const { email, id } = await user();
    const c = await signedIn(t, email, 'password-1');
    const key = await registerKey(c, 'main');
    const spare = await registerKey(c, 'spare');
    assert.equal((await c.post('/wan-delete', { name: 'spare' })).statusCode, 200);
    assert.equal((await c.post('/wan-delete', { name: 'spare' })).data.response.error_code, 'WEBAUTHN_NAME_NOT_FOUND');
    await c.post('/logout');
    await c.login(email, 'password-1');

    let { options, state } = await signinOptions(c);
    const wrongOrigin = await c.post(`/wan-signin/${state}`, {
      credential: key.assert(options, { origin: 'https://evil.example' }),
    });
    assert.equal(wrongOrigin.statusCode, 400);
    assert.equal(wrongOrigin.data.response.error_code, 'WEBAUTHN_NO_VERIFY');
    assert.deepEqual(Object.keys(wrongOrigin.data.response.field_errors), ['credential']);
    ({ options, state } = await signinOptions(c));
    const wrongRp = await c.post(`/wan-signin/${state}`, { credential: key.assert(options, { rpId: 'evil.example' }) });
    assert.equal(wrongRp.data.response.error_code, 'WEBAUTHN_NO_VERIFY');
    ({ options, state } = await signinOptions(c));
    const deleted = await c.post(`/wan-signin/${state}`, { credential: spare.assert(options) });
    assert.equal(deleted.data.response.error_code, 'WEBAUTHN_UNKNOWN_CREDENTIAL_ID');
    const assertion = key.assert(options);
    assert.equal((await c.post(`/wan-signin/${state}`, { credential: assertion })).statusCode, 200);
    const failures = (await audits(id)).filter((r) => r.type === 'tf.failed');
    assert.equal(failures.length, 3, 'each refused assertion is a charged guess');
    assert.ok(failures.every((r) => r.details.method === 'webauthn'));
    assert.ok((await audits(id)).some((r) => r.type === 'webauthn.deleted' && r.details.name === 'spare'));

    // The same wan_state and assertion in a later sign-in: that challenge belonged to the one before.
    await c.post('/logout');
    await c.login(email, 'password-1');
    const replay = await c.post(`/wan-signin/${state}`, { credential: assertion });
    assert.equal(replay.data.response.error_code, 'API_ERROR');
  });

  test('register and delete need a fresh sign-in; /wan-verify with a key makes the session fresh', async () => {
    const { email, id } = await user();
    const c = new Client(() => t.app);
    await c.login(email, 'password-1', { remember: true });
    const key = await registerKey(c, 'k');
    // Past SECURITY_FRESHNESS and its grace (24 h + 1 h); the remembered session lives on.
    t.clock.advance(26 * 3600 * 1000);
    for (const res of [
      await c.post('/wan-register', { name: 'k2' }),
      await c.post('/wan-delete', { name: 'k' }),
      await c.get('/wan-register'),
    ]) {
      assert.equal(res.statusCode, 401);
      assert.equal(res.data.response.error_code, 'REAUTHENTICATION_REQUIRED');
    }
    const verify = await c.post('/wan-verify', {});
    assert.equal(verify.statusCode, 200, verify.body);
    const other = softKey();
    const wrong = await c.post(`/wan-verify/${verify.data.response.wan_state}`, {
      credential: other.assert(verify.data.response.credential_options),
    });
    assert.equal(wrong.data.response.error_code, 'WEBAUTHN_UNKNOWN_CREDENTIAL_ID');
    const ok = await c.post(`/wan-verify/${verify.data.response.wan_state}`, {
      credential: key.assert(verify.data.response.credential_options),
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await c.post('/wan-delete', { name: 'k' })).statusCode, 200);
    const rows = await audits(id);
    assert.ok(rows.some((r) => r.type === 'verify.success' && r.details.method === 'webauthn'));
    assert.ok(rows.some((r) => r.type === 'verify.failure' && r.details.method === 'webauthn'));
  });

  test('a key and an authenticator: /login answers tf_select, /tf-select picks, either factor then signs in', async () => {
    const { email } = await user();
    const c = await signedIn(t, email, 'password-1');
    const secret = await enrolAuthenticator(t, c);
    const key = await registerKey(c, 'k');
    await c.post('/logout');

    const login = await c.login(email, 'password-1');
    assert.deepEqual(response(login), {
      tf_required: true,
      tf_select: true,
      tf_setup_methods: ['authenticator', 'webauthn'],
    });
    // Not before a choice is made (Flask-Security: no tf_state yet).
    const choices = await c.get('/tf-select');
    assert.deepEqual(response(choices), { tf_select: true, tf_setup_methods: ['authenticator', 'webauthn'] });
    const bad = await c.post('/tf-select', { which: 'sms' });
    assert.equal(bad.data.response.error_code, 'TWO_FACTOR_METHOD_NOT_AVAILABLE');
    const picked = await c.post('/tf-select', { which: 'webauthn' });
    assert.deepEqual(response(picked), {
      tf_required: true,
      tf_state: 'ready',
      tf_primary_method: 'authenticator',
      tf_method: 'webauthn',
      tf_signin_url: '/wan-signin',
    });
    assert.equal((await signInWithKey(c, key)).statusCode, 200);
    await c.post('/logout');

    await c.login(email, 'password-1');
    const code = await c.post('/tf-select', { which: 'authenticator' });
    assert.equal(code.data.response.tf_method, 'authenticator');
    const ok = await c.post('/tf-validate', { code: oathtool(secret, t.clock.now()) });
    assert.equal(ok.statusCode, 200, ok.body);

    // /tf-validate before a choice: the state does not take it.
    await c.post('/logout');
    await c.login(email, 'password-1');
    const early = await c.post('/tf-validate', { code: '123456' });
    assert.equal(early.data.response.error_code, 'TWO_FACTOR_PERMISSION_DENIED');
  });

  test('a remembered device skips the key; the rescue e-mail code signs a key user in', async () => {
    await t.rebuild({ ...WAN_ENV, SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false' });
    try {
      const { email } = await user();
      const c = await signedIn(t, email, 'password-1');
      const key = await registerKey(c, 'k');
      await c.post('/logout');
      await c.login(email, 'password-1', { remember: true });
      const done = await signInWithKey(c, key);
      assert.ok(c.cookies.has('tf_validity'), done.body);
      await c.post('/logout');
      const skipped = await c.login(email, 'password-1');
      assert.equal(skipped.data.response.tf_required, false);

      const other = new Client(() => t.app);
      await other.login(email, 'password-1');
      assert.equal((await other.post('/tf-rescue', { help_setup: 'email' })).statusCode, 200);
      const rescued = await other.post('/tf-validate', { code: t.senders.lastCode(email) });
      assert.equal(rescued.statusCode, 200, rescued.body);
    } finally {
      await t.rebuild(WAN_ENV);
    }
  });

  test('users:reset-2fa deletes the keys; with SECURITY_WEBAUTHN off the endpoints are 404 and /login asks for no key', async () => {
    const { email, id } = await user();
    const c = await signedIn(t, email, 'password-1');
    await registerKey(c, 'k');
    await t.rebuild({});
    try {
      assert.equal((await c.post('/wan-register', { name: 'x' })).statusCode, 404);
      const login = await signedIn(t, email, 'password-1');
      assert.ok(login);
    } finally {
      await t.rebuild(WAN_ENV);
    }
    await commands['users:reset-2fa']!.run({
      config: t.config,
      db: t.database.db,
      args: { email, reason: 'lost the key' },
      readStdin: async () => '',
    });
    const left = await t.database.db
      .selectFrom('webauthn_credentials')
      .select('id')
      .where('user_id', '=', id)
      .execute();
    assert.deepEqual(left, []);
  });
});
