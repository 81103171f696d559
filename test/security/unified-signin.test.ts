import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { lockoutCounters, signedIn, STEP_MS } from '../helpers/two-factor.js';
import { US_ENV, usSetup } from '../helpers/unified-signin.js';

/**
 * Unified sign-in is one more door to an account; the threats are those of
 * every other door (README "Abuse resistance"):
 * - a code used twice, or by two requests at once, signs in at most once;
 * - guessing passcodes: every guess costs the password throttle, a code guess
 *   also the second factor's budget (attempt cap, lockout);
 * - flooding a mailbox or phone through send-code: the send limits hold;
 * - reading the database: codes are stored only as keyed hashes;
 * - a cross-site form: the Origin check and, once signed in, the CSRF token hold;
 * - an authenticator code seen over a shoulder: its TOTP step passes once.
 */
describe(`unified sign-in: security (${DB_KIND})`, () => {
  let t: TestApp;
  const client = () => new Client(() => t.app);
  before(async () => {
    t = await createTestApp(US_ENV);
  });
  after(() => t.close());

  async function user(): Promise<{ email: string; id: number }> {
    const email = uniqueEmail('uss');
    const u = await createUser(t.database, email, 'password-1');
    return { email, id: u.id };
  }

  async function signinCount(userId: number): Promise<number> {
    const rows = await t.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('user_id', '=', userId)
      .where('type', '=', 'signin.success')
      .execute();
    return rows.length;
  }

  test('a burst of requests with one e-mailed code: exactly one sign-in', async () => {
    const { email, id } = await user();
    await usSetup(t, await signedIn(t, email, 'password-1'), 'email');
    await t.database.db.deleteFrom('audit_events').where('user_id', '=', id).execute();
    const c = client();
    assert.equal((await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' })).statusCode, 200);
    const code = t.senders.lastCode(email);
    const stored = await t.database.db.selectFrom('tf_pending').selectAll().where('user_id', '=', id).execute();
    assert.equal(stored.length, 1);
    assert.ok(stored[0]!.code_hash && !stored[0]!.code_hash.includes(code), 'only a keyed hash of the code is stored');
    const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.app.inject({
          method: 'POST',
          url: '/us-signin',
          headers: { cookie, 'content-type': 'application/json' },
          payload: JSON.stringify({ identity: email, passcode: code, remember: false }),
        }),
      ),
    );
    const ok = burst.filter((r) => r.statusCode === 200);
    assert.equal(ok.length, 1, burst.map((r) => r.statusCode).join(','));
    assert.equal(await signinCount(id), 1);
  });

  test('a burst of requests with one authenticator code, from many sessions: exactly one sign-in', async () => {
    const { email, id } = await user();
    const key = (await usSetup(t, await signedIn(t, email, 'password-1'), 'authenticator'))!;
    await t.database.db.deleteFrom('audit_events').where('user_id', '=', id).execute();
    const code = oathtool(key, t.clock.now());
    const burst = await Promise.all(
      Array.from({ length: 8 }, () => client().post('/us-signin', { identity: email, passcode: code })),
    );
    assert.equal(burst.filter((r) => r.statusCode === 200).length, 1, burst.map((r) => r.statusCode).join(','));
    assert.equal(await signinCount(id), 1);
    const failures = await lockoutCounters(t, id);
    assert.equal(failures.tf_locked_until, null, 'replays of a right code do not lock the user');
  });

  test('wrong passwords at /us-signin count in the password throttle (429 after five)', async () => {
    const { email } = await user();
    const c = client();
    const answers: number[] = [];
    for (let i = 0; i < 6; i++)
      answers.push((await c.post('/us-signin', { identity: email, passcode: `bad-${i}-x` })).statusCode);
    assert.deepEqual(answers, [400, 400, 400, 400, 429, 429]);
    const right = await c.post('/us-signin', { identity: email, passcode: 'password-1' });
    assert.equal(right.statusCode, 429, 'the delay holds for the right password too');
    // An unknown identity is throttled the same way: the throttle says nothing about accounts.
    const nobody = uniqueEmail('nobody');
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++)
      unknown.push((await c.post('/us-signin', { identity: nobody, passcode: `bad-${i}-x` })).statusCode);
    assert.deepEqual(unknown, [400, 400, 400, 400, 429]);
  });

  test('wrong codes count in the second factor lockout; a locked user gets TWO_FACTOR_LOCKED', async () => {
    await t.rebuild({ ...US_ENV, SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: '3' });
    try {
      const { email, id } = await user();
      await usSetup(t, await signedIn(t, email, 'password-1'), 'authenticator');
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await client().post('/us-signin', { identity: email, passcode: `00000${i}` });
        codes.push(res.data.response.error_code);
      }
      assert.deepEqual(codes, ['INVALID_PASSWORD_CODE', 'INVALID_PASSWORD_CODE', 'TWO_FACTOR_LOCKED']);
      const locked = await lockoutCounters(t, id);
      assert.ok(locked.tf_locked_until && locked.tf_locked_until > t.clock.now());
      const next = await client().post('/us-signin', { identity: email, passcode: '123456' });
      assert.equal(next.statusCode, 429);
      assert.equal(next.data.response.error_code, 'TWO_FACTOR_LOCKED');
      assert.ok(Number(next.headers['retry-after']) > 0);
    } finally {
      await t.rebuild(US_ENV);
    }
  });

  test('the attempt cap voids the pending code after SECURITY_TWO_FACTOR_MAX_ATTEMPTS wrong codes', async () => {
    const { email, id } = await user();
    await usSetup(t, await signedIn(t, email, 'password-1'), 'email');
    const c = client();
    await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    const code = t.senders.lastCode(email);
    const wrong = code === '111111' ? '222222' : '111111';
    const answers: string[] = [];
    for (let i = 0; i < 5; i++)
      answers.push((await c.post('/us-signin', { identity: email, passcode: wrong })).data.response.error_code);
    assert.deepEqual(answers.slice(0, 4), Array(4).fill('INVALID_PASSWORD_CODE'));
    assert.equal(answers[4], 'TWO_FACTOR_TOO_MANY_ATTEMPTS', 'the fifth wrong code voids the pending code');
    const left = await t.database.db.selectFrom('tf_pending').select('id').where('user_id', '=', id).execute();
    assert.deepEqual(left, [], 'the pending code died with its voided row');
  });

  test('send-code: one code per 30 s per user; the first code stays valid', async () => {
    const { email } = await user();
    await usSetup(t, await signedIn(t, email, 'password-1'), 'email');
    t.clock.advance(31_000);
    const c = client();
    assert.equal((await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' })).statusCode, 200);
    const first = t.senders.lastCode(email);
    const again = await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    assert.equal(again.statusCode, 429);
    assert.equal(again.data.response.error_code, 'RATE_LIMITED');
    assert.ok(Number(again.headers['retry-after']) > 0);
    assert.equal((await c.post('/us-signin', { identity: email, passcode: first })).statusCode, 200);
  });

  test('Origin and CSRF checks apply to the unified sign-in endpoints', async () => {
    const { email } = await user();
    const evil = await client().post(
      '/us-signin',
      { identity: email, passcode: 'password-1' },
      { origin: 'https://evil.example' },
    );
    assert.equal(evil.statusCode, 403);
    assert.equal(evil.data.response.error_code, 'ORIGIN_NOT_ALLOWED');
    const s = await signedIn(t, email, 'password-1');
    s.csrf = undefined;
    const noToken = await s.post('/us-setup', { chosen_method: 'email' });
    assert.equal(noToken.data.response.error_code, 'CSRF_TOKEN_MISSING');
    const noToken2 = await s.post('/us-verify', { passcode: 'password-1' });
    assert.equal(noToken2.data.response.error_code, 'CSRF_TOKEN_MISSING');
  });

  test('audit rows: the setup, the code sent, the code passed, the sign-in with its method', async () => {
    const { email, id } = await user();
    await usSetup(t, await signedIn(t, email, 'password-1'), 'sms', '+14155550123');
    const c = client();
    await c.post('/us-signin/send-code', { identity: email, chosen_method: 'sms' });
    await c.post('/us-signin', { identity: email, passcode: t.senders.lastCode('+14155550123') });
    const rows = await t.database.db
      .selectFrom('audit_events')
      .select(['type', 'details'])
      .where('user_id', '=', id)
      .orderBy('id')
      .execute();
    const types = rows.map((r) => r.type);
    for (const type of ['us.setup_changed', 'code.sent', 'us.code_passed', 'signin.success'])
      assert.ok(types.includes(type), `${type} in ${types.join(',')}`);
    // The first signin.success is the password sign-in that set the method up.
    assert.deepEqual(rows.filter((r) => r.type === 'signin.success').at(-1)!.details, { methods: ['sms'] });
    assert.ok(!JSON.stringify(rows).includes(t.senders.lastCode('+14155550123')), 'no code in the audit trail');
  });

  test('a changed TOTP step passes again a step later (replay refused only for the used step)', async () => {
    const { email } = await user();
    const key = (await usSetup(t, await signedIn(t, email, 'password-1'), 'authenticator'))!;
    const c = await signedIn(t, email, 'password-1');
    const code = oathtool(key, t.clock.now());
    assert.equal((await c.post('/us-verify', { passcode: code })).statusCode, 200);
    assert.equal((await c.post('/us-verify', { passcode: code })).statusCode, 400);
    t.clock.advance(STEP_MS);
    assert.equal((await c.post('/us-verify', { passcode: oathtool(key, t.clock.now()) })).statusCode, 200);
  });
});
