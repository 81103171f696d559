import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../src/cli/commands.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { enrolledUser, generateCodes, pendingSignIn } from '../helpers/rescue.js';
import { enrolAuthenticator, STEP_MS } from '../helpers/two-factor.js';

const HELP_DESK = 'helpdesk@example.com';
const ENV = { SECURITY_TWO_FACTOR_RESCUE_MAIL: HELP_DESK };

describe(`rescue: e-mailed code, help desk and recovery codes (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(ENV);
  });
  after(() => t.close());

  const mailsTo = (to: string) => t.senders.emails.filter((m) => m.to === to);

  for (const method of ['authenticator', 'sms'] as const) {
    test(`${method} user: a rescue code e-mailed to the account signs in through /tf-validate`, async () => {
      const u = await enrolledUser(t, method);
      const c = await pendingSignIn(t, u.email);
      const options = await c.get('/tf-rescue');
      assert.equal(options.statusCode, 200, options.body);
      assert.deepEqual(options.data.response.recovery_options, { help: '/tf-rescue', email: '/tf-rescue' });
      assert.ok(options.data.response.csrf_token);
      if (method === 'sms') {
        // The sign-in just texted a code: the per-user send gap (SPEC §4.2) applies to the rescue mail too.
        const early = await c.post('/tf-rescue', { help_setup: 'email' });
        assert.equal(early.statusCode, 429, early.body);
        assert.equal(early.data.response.error_code, 'RATE_LIMITED');
        assert.ok(Number(early.headers['retry-after']) > 0);
        t.clock.advance(STEP_MS);
      }
      const before = mailsTo(u.email).length;
      const res = await c.post('/tf-rescue', { help_setup: 'email' });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.data.response.recovery_options, { help: '/tf-rescue', email: '/tf-rescue' });
      assert.equal(res.data.response.tf_rescue_next, undefined);
      assert.equal(mailsTo(u.email).length, before + 1);
      assert.match(mailsTo(u.email).at(-1)!.subject, /recovery code/);
      assert.equal((await c.get('/me')).statusCode, 401, 'asking for rescue signs nobody in');
      const ok = await c.post('/tf-validate', { code: t.senders.lastCode(u.email) });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.data.response.user.email, u.email);
      assert.deepEqual((await c.get('/me')).data.response.authn_methods, ['password', 'email']);
      const audit = await t.database.db
        .selectFrom('audit_events')
        .select(['type', 'details'])
        .where('user_id', '=', u.id)
        .where('type', '=', 'rescue.used')
        .execute();
      assert.ok(audit.some((a) => a.details.option === 'email'));
    });
  }

  test('help: one notice naming the user reaches SECURITY_TWO_FACTOR_RESCUE_MAIL; a repeat within the hour is 429', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = await pendingSignIn(t, u.email);
    const before = mailsTo(HELP_DESK).length;
    const res = await c.post('/tf-rescue', { help_setup: 'help' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.data.response.recovery_options, { help: '/tf-rescue', email: '/tf-rescue' });
    const notices = mailsTo(HELP_DESK);
    assert.equal(notices.length, before + 1);
    const notice = notices.at(-1)!;
    assert.ok(notice.subject.includes(u.email) && notice.text.includes(u.email), 'the notice names the user');
    assert.doesNotMatch(notice.text, /\b\d{6}\b/, 'the help desk gets no code');
    assert.equal(mailsTo(u.email).length, 0, 'nothing goes to the user');

    const again = await c.post('/tf-rescue', { help_setup: 'help' });
    assert.equal(again.statusCode, 429, again.body);
    assert.equal(again.data.response.error_code, 'RATE_LIMITED');
    assert.equal(again.headers['retry-after'], '3600');
    assert.equal(mailsTo(HELP_DESK).length, before + 1);
    t.clock.advance(3600 * 1000);
    const later = await pendingSignIn(t, u.email);
    assert.equal((await later.post('/tf-rescue', { help_setup: 'help' })).statusCode, 200);
    assert.equal(mailsTo(HELP_DESK).length, before + 2);
  });

  test('a mail that cannot be sent is 500 FAILED_TO_SEND_CODE; the pending sign-in stays and a retry works', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = await pendingSignIn(t, u.email);
    for (const help_setup of ['help', 'email']) {
      t.senders.failNext = 1;
      const failed = await c.post('/tf-rescue', { help_setup });
      assert.equal(failed.statusCode, 500, failed.body);
      assert.equal(failed.data.response.error_code, 'FAILED_TO_SEND_CODE');
      const retry = await c.post('/tf-rescue', { help_setup });
      assert.equal(retry.statusCode, 200, `${help_setup}: the refused send did not use up the limit`);
    }
    assert.equal((await c.post('/tf-validate', { code: t.senders.lastCode(u.email) })).statusCode, 200);
  });

  test('a recovery code signs in once and never again; case, spaces and dashes do not matter', async () => {
    const u = await enrolledUser(t, 'sms');
    const codes = await generateCodes(u.client);
    assert.equal(codes.length, 5);
    for (const code of codes) assert.match(code, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    assert.equal(new Set(codes).size, 5);
    const info = await u.client.get('/mf-recovery-codes');
    assert.deepEqual(
      { ...info.data.response, csrf_token: 0 },
      { csrf_token: 0, recovery_codes: [], recovery_codes_remaining: 5 },
    );
    await u.client.post('/logout');

    const variants = [
      codes[0]!.toUpperCase(),
      ` ${codes[1]!.replace(/-/g, ' ')} `,
      codes[2]!.replace(/-/g, ''),
      codes[3]!.toUpperCase().replace(/-/g, ' - '),
    ];
    for (const [i, typed] of variants.entries()) {
      t.clock.advance(STEP_MS);
      const c = await pendingSignIn(t, u.email);
      const rescue = await c.post('/tf-rescue', { help_setup: 'recovery_code' });
      assert.equal(rescue.statusCode, 200, rescue.body);
      assert.equal(rescue.data.response.tf_rescue_next, '/mf-recovery');
      assert.equal(rescue.data.response.recovery_options.recovery_code, '/mf-recovery');
      const form = await c.get('/mf-recovery');
      assert.deepEqual(Object.keys(form.data.response), ['csrf_token']);
      const pendingCookie = c.cookies.get('session');
      const ok = await c.post(i === 0 ? '/mf-recovery?include_auth_token' : '/mf-recovery', { code: typed });
      assert.equal(ok.statusCode, 200, `${typed}: ${ok.body}`);
      assert.equal(ok.data.response.user.email, u.email);
      assert.equal(Boolean(ok.data.response.user.authentication_token), i === 0);
      assert.notEqual(c.cookies.get('session'), pendingCookie, 'the session id rotates');
      assert.deepEqual((await c.get('/me')).data.response.authn_methods, ['password', 'recovery_code']);
      await c.post('/logout');
    }

    t.clock.advance(STEP_MS);
    const c = await pendingSignIn(t, u.email);
    for (const used of [codes[0]!, codes[1]!.toUpperCase()]) {
      const res = await c.post('/mf-recovery', { code: used });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.data.response.error_code, 'INVALID_RECOVERY_CODE');
      assert.deepEqual(res.data.response.field_errors, { code: ['Recovery code invalid'] });
    }
    assert.equal((await c.get('/me')).statusCode, 401);
    assert.equal(
      (await c.post('/mf-recovery', { code: codes[4]! })).statusCode,
      200,
      'the last unused code still works',
    );
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select('type')
      .where('user_id', '=', u.id)
      .where('type', 'in', ['recovery_code.used', 'recovery_codes.generated'])
      .execute();
    assert.deepEqual(audit.map((a) => a.type).sort(), [
      'recovery_code.used',
      'recovery_code.used',
      'recovery_code.used',
      'recovery_code.used',
      'recovery_code.used',
      'recovery_codes.generated',
    ]);
  });

  test('the options offer only what the user really has', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = await pendingSignIn(t, u.email);
    assert.deepEqual(
      (await c.get('/tf-rescue')).data.response.recovery_options,
      { help: '/tf-rescue', email: '/tf-rescue' },
      'no codes yet',
    );
    const notOffered = await c.post('/tf-rescue', { help_setup: 'recovery_code' });
    assert.equal(notOffered.statusCode, 400);
    assert.deepEqual(notOffered.data.response.field_errors, {
      help_setup: ['Input not appropriate for requested API'],
    });

    await t.rebuild({ ...ENV, SECURITY_MULTI_FACTOR_RECOVERY_CODES_N: '1' });
    const [only] = await generateCodes(u.client);
    assert.ok(only);
    const d = await pendingSignIn(t, u.email);
    assert.deepEqual((await d.get('/tf-rescue')).data.response.recovery_options, {
      help: '/tf-rescue',
      email: '/tf-rescue',
      recovery_code: '/mf-recovery',
    });
    assert.deepEqual(
      (await d.get('/tf-validate')).data.response.recovery_options.recovery_code,
      '/mf-recovery',
      '/tf-validate shows the same options',
    );
    assert.equal((await d.post('/mf-recovery', { code: only })).statusCode, 200);
    await d.post('/logout');
    const e = await pendingSignIn(t, u.email);
    assert.deepEqual(
      (await e.get('/tf-rescue')).data.response.recovery_options,
      { help: '/tf-rescue', email: '/tf-rescue' },
      'all codes used',
    );

    await t.rebuild({ ...ENV, SECURITY_TWO_FACTOR_RESCUE_EMAIL: 'false' });
    try {
      await generateCodes(u.client);
      const f = await pendingSignIn(t, u.email);
      assert.deepEqual((await f.get('/tf-rescue')).data.response.recovery_options, {
        help: '/tf-rescue',
        recovery_code: '/mf-recovery',
      });
      const off = await f.post('/tf-rescue', { help_setup: 'email' });
      assert.equal(off.statusCode, 400);
      assert.equal(off.data.response.error_code, 'API_ERROR');
      assert.equal(mailsTo(u.email).length, 0);
    } finally {
      await t.rebuild();
    }
  });

  test('regenerating kills every old code', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const old = await generateCodes(u.client);
    const fresh = await generateCodes(u.client);
    assert.equal(fresh.filter((c) => old.includes(c)).length, 0);
    assert.equal((await u.client.get('/mf-recovery-codes')).data.response.recovery_codes_remaining, 5);
    const c = await pendingSignIn(t, u.email);
    for (const code of old.slice(0, 3))
      assert.equal((await c.post('/mf-recovery', { code })).data.response.error_code, 'INVALID_RECOVERY_CODE');
    assert.equal((await c.post('/mf-recovery', { code: fresh[0]! })).statusCode, 200);
  });

  test('users:reset-2fa clears the recovery codes too', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const codes = await generateCodes(u.client);
    const out = await commands['users:reset-2fa']!.run({
      config: t.config,
      db: t.database.db,
      args: { email: u.email, reason: 'lost phone, identity checked' },
      readStdin: async () => '',
    });
    assert.match(out, /reset two-factor/);
    const rows = await t.database.db.selectFrom('tf_recovery_codes').select('id').where('user_id', '=', u.id).execute();
    assert.equal(rows.length, 0);
    // 2FA is optional here: after the reset the password alone signs in, and no code is left to use.
    const c = new Client(() => t.app);
    assert.equal((await c.login(u.email, 'password-1')).data.response.tf_required, false);
    assert.equal((await c.get('/mf-recovery-codes')).data.response.recovery_codes_remaining, 0);
    // A new second factor does not bring the old codes back.
    await enrolAuthenticator(t, c);
    const d = await pendingSignIn(t, u.email);
    assert.deepEqual((await d.get('/tf-rescue')).data.response.recovery_options, {
      help: '/tf-rescue',
      email: '/tf-rescue',
    });
    assert.equal((await d.post('/mf-recovery', { code: codes[0]! })).data.response.error_code, 'INVALID_RECOVERY_CODE');
  });

  test('signed-in callers get ANONYMOUS_USER_REQUIRED; other states TWO_FACTOR_PERMISSION_DENIED and are wiped', async () => {
    const u = await enrolledUser(t, 'authenticator');
    for (const [method, url] of [
      ['GET', '/tf-rescue'],
      ['POST', '/tf-rescue'],
      ['GET', '/mf-recovery'],
      ['POST', '/mf-recovery'],
    ] as const) {
      const res = await u.client.request(
        method,
        url,
        method === 'POST' ? { help_setup: 'help', code: 'abcd-abcd-abcd' } : undefined,
        { 'x-csrf-token': '' },
      );
      assert.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`);
      assert.equal(res.data.response.error_code, 'ANONYMOUS_USER_REQUIRED', `${method} ${url}`);
    }
    const nobody = new Client(() => t.app);
    for (const url of ['/tf-rescue', '/mf-recovery'])
      assert.equal((await nobody.get(url)).data.response.error_code, 'TWO_FACTOR_PERMISSION_DENIED');

    await t.rebuild({ ...ENV, SECURITY_TWO_FACTOR_REQUIRED: 'true' });
    try {
      const email = uniqueEmail('setup');
      await createUser(t.database, email, 'password-1');
      const c = new Client(() => t.app);
      assert.equal((await c.login(email, 'password-1')).data.response.tf_state, 'setup_from_login');
      assert.equal(
        (await c.post('/tf-rescue', { help_setup: 'help' })).data.response.error_code,
        'TWO_FACTOR_PERMISSION_DENIED',
      );
      assert.equal(
        (await c.get('/tf-setup')).data.response.error_code,
        'TWO_FACTOR_PERMISSION_DENIED',
        'the setup_from_login state was wiped',
      );
    } finally {
      await t.rebuild();
    }
  });

  test('/mf-recovery-codes needs a fresh sign-in and the CSRF token for cookies', async () => {
    assert.equal((await new Client(() => t.app).get('/mf-recovery-codes')).statusCode, 401);
    const email = uniqueEmail('fresh');
    await createUser(t.database, email, 'password-1');
    // A remembered session outlives the 25 h freshness window (SECURITY_FRESHNESS + grace).
    const c = new Client(() => t.app);
    assert.equal((await c.login(email, 'password-1', { remember: true })).statusCode, 200);
    const noCsrf = await c.post('/mf-recovery-codes', {}, { 'x-csrf-token': '' });
    assert.equal(noCsrf.data.response.error_code, 'CSRF_TOKEN_MISSING');
    const codes = await generateCodes(c);

    t.clock.advance(25 * 3600 * 1000 + 1000);
    for (const res of [await c.get('/mf-recovery-codes'), await c.post('/mf-recovery-codes')]) {
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.data.response.error_code, 'REAUTHENTICATION_REQUIRED');
      assert.equal(res.data.response.reauth_required, true);
    }
    const rows = await t.database.db
      .selectFrom('tf_recovery_codes')
      .select('tf_recovery_codes.id')
      .innerJoin('users', 'users.id', 'tf_recovery_codes.user_id')
      .where('users.email', '=', email)
      .execute();
    assert.equal(rows.length, codes.length, 'the stale request replaced nothing');
    assert.equal((await c.post('/verify', { password: 'password-1' })).statusCode, 200);
    assert.equal((await c.get('/mf-recovery-codes')).data.response.recovery_codes_remaining, 5);
  });

  test('an Authentication-Token caller needs no CSRF token and counts as fresh from its sign-in', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = await pendingSignIn(t, u.email);
    assert.equal((await c.post('/tf-rescue', { help_setup: 'email' })).statusCode, 200);
    const signed = await c.post('/tf-validate?include_auth_token', { code: t.senders.lastCode(u.email) });
    const token = signed.data.response.user.authentication_token as string;
    const api = new Client(() => t.app);
    api.headers['authentication-token'] = token;
    const made = await api.post('/mf-recovery-codes');
    assert.equal(made.statusCode, 200, made.body);
    assert.equal(made.data.response.recovery_codes.length, 5);
    assert.equal((await api.get('/mf-recovery-codes')).data.response.recovery_codes_remaining, 5);
  });

  test('SECURITY_MULTI_FACTOR_RECOVERY_CODES=false: the routes are gone and no code is offered', async () => {
    const u = await enrolledUser(t, 'authenticator');
    await generateCodes(u.client);
    await t.rebuild({ ...ENV, SECURITY_MULTI_FACTOR_RECOVERY_CODES: 'false' });
    try {
      assert.equal((await u.client.get('/mf-recovery-codes')).statusCode, 404);
      assert.equal((await u.client.post('/mf-recovery-codes')).statusCode, 404);
      const c = await pendingSignIn(t, u.email);
      assert.deepEqual((await c.get('/tf-rescue')).data.response.recovery_options, {
        help: '/tf-rescue',
        email: '/tf-rescue',
      });
      assert.equal((await c.post('/tf-rescue', { help_setup: 'recovery_code' })).statusCode, 400);
      assert.equal((await c.post('/mf-recovery', { code: 'abcd-abcd-abcd' })).statusCode, 404);
    } finally {
      await t.rebuild();
    }
  });

  test('bad input is a clear 400 in the envelope, never a 500', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = await pendingSignIn(t, u.email);
    const cases: Array<[string, unknown, string]> = [
      ['/tf-rescue', {}, 'REQUIRED'],
      ['/tf-rescue', { help_setup: '' }, 'REQUIRED'],
      ['/tf-rescue', { help_setup: 5 }, 'API_ERROR'],
      ['/tf-rescue', { help_setup: ['email'] }, 'API_ERROR'],
      ['/tf-rescue', { help_setup: 'x'.repeat(1000) }, 'API_ERROR'],
      ['/tf-rescue', { help_setup: 'EMAIL' }, 'API_ERROR'],
      ['/tf-rescue', { help_setup: 'pigeon' }, 'API_ERROR'],
      ['/tf-rescue', { help_setup: 'email\u0000' }, 'API_ERROR'],
      ['/tf-rescue', [1, 2], 'API_ERROR'],
      ['/mf-recovery', {}, 'REQUIRED'],
      ['/mf-recovery', { code: 123456789012 }, 'API_ERROR'],
      ['/mf-recovery', { code: { a: 1 } }, 'API_ERROR'],
      ['/mf-recovery', { code: 'a'.repeat(65) }, 'API_ERROR'],
      ['/mf-recovery', '"abcd-abcd-abcd"', 'API_ERROR'],
    ];
    for (const [url, body, key] of cases) {
      const res = await c.post(url, body);
      assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.data.response.error_code, key, `${url} ${JSON.stringify(body)}`);
    }
    const text = await c.post('/mf-recovery', 'code=abc', { 'content-type': 'text/plain' });
    assert.equal(text.statusCode, 415);
    assert.equal((await u.client.post('/mf-recovery-codes', [1])).statusCode, 400);
    assert.equal((await c.get('/tf-rescue')).statusCode, 200, 'none of it cost the pending sign-in');
  });
});
