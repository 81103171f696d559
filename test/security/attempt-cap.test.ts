/**
 * Threat: guessing the 6-digit second factor. A million codes fall to a script
 * unless every guess is counted before it is checked, atomically, per pending
 * sign-in (cap) and per user across sessions and instances (lockout), and a
 * correct code can be used once only (SPEC §4.2, §4.3).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, lockoutCounters, signedIn, STEP_MS, wrongCode } from '../helpers/two-factor.js';

describe(`attempt cap, lockout and replay (${DB_KIND})`, () => {
  let t: TestApp;
  let second: TestApp;
  before(async () => {
    t = await createTestApp();
    // A second instance on the same database, as behind a load balancer.
    second = await createTestApp({}, t.database);
    second.clock.set(t.clock.now());
  });
  after(async () => {
    await second.close();
    await t.close();
  });

  async function enrolled(): Promise<{ email: string; key: string; id: number }> {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    second.clock.set(t.clock.now());
    return { email, key, id: user.id };
  }

  async function pending(app: TestApp, email: string): Promise<Client> {
    const c = new Client(() => app.app);
    const res = await c.login(email, 'password-1');
    assert.equal(res.data.response.tf_state, 'ready');
    return c;
  }

  test('the N-th wrong code voids the pending sign-in; even the right code is refused after', async () => {
    const { email, key } = await enrolled();
    const c = await pending(t, email);
    for (let i = 1; i < 5; i++) {
      const res = await c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) });
      assert.equal(res.statusCode, 400);
      assert.equal(res.data.response.error_code, 'TWO_FACTOR_INVALID_TOKEN');
    }
    const fifth = await c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) });
    assert.equal(fifth.statusCode, 429);
    assert.equal(fifth.data.response.error_code, 'TWO_FACTOR_TOO_MANY_ATTEMPTS');
    const right = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(right.statusCode, 400);
    assert.equal(right.data.response.error_code, 'TWO_FACTOR_PERMISSION_DENIED');
    assert.equal((await c.get('/me')).statusCode, 401);
  });

  test('50 concurrent wrong guesses on one pending sign-in get at most 5 checks', async () => {
    const { email, key } = await enrolled();
    const c = await pending(t, email);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) })),
    );
    const checked = results.filter((r) =>
      ['TWO_FACTOR_INVALID_TOKEN', 'TWO_FACTOR_TOO_MANY_ATTEMPTS'].includes(r.data.response.error_code),
    );
    assert.ok(checked.length <= 5, `${checked.length} guesses were checked`);
    assert.ok(results.every((r) => r.statusCode === 400 || r.statusCode === 429));
    assert.equal(results.filter((r) => r.data.response.error_code === 'TWO_FACTOR_TOO_MANY_ATTEMPTS').length, 1);
  });

  test('lockout: 10 failures across sessions and instances lock even the right code, with Retry-After; it doubles', async () => {
    const { email, key, id } = await enrolled();
    for (const app of [t, second]) {
      const c = await pending(app, email);
      for (let i = 0; i < 4; i++)
        assert.equal((await c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) })).statusCode, 400);
    }
    const c = await pending(second, email);
    assert.equal((await c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) })).statusCode, 400);
    const tenth = await c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) });
    assert.equal(tenth.statusCode, 429);
    assert.equal(tenth.data.response.error_code, 'TWO_FACTOR_LOCKED');
    assert.equal(tenth.headers['retry-after'], '900');

    const d = await pending(t, email);
    const locked = await d.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(locked.statusCode, 429, 'the right code is refused while locked');
    assert.equal(locked.data.response.error_code, 'TWO_FACTOR_LOCKED');
    assert.ok(Number(locked.headers['retry-after']) > 0);

    t.clock.advance(15 * 60 * 1000 + 1000);
    second.clock.set(t.clock.now());
    const e = await pending(t, email);
    for (let i = 0; i < 4; i++) await e.post('/tf-validate', { code: wrongCode(key, t.clock.now()) });
    const f = await pending(t, email);
    for (let i = 0; i < 5; i++) await f.post('/tf-validate', { code: wrongCode(key, t.clock.now()) });
    const g = await pending(t, email);
    const again = await g.post('/tf-validate', { code: wrongCode(key, t.clock.now()) });
    assert.equal(again.data.response.error_code, 'TWO_FACTOR_LOCKED');
    assert.equal(again.headers['retry-after'], '1800', 'the second lockout lasts twice as long');

    t.clock.advance(1800 * 1000 + 1000);
    second.clock.set(t.clock.now());
    const h = await pending(second, email);
    assert.equal((await h.post('/tf-validate', { code: oathtool(key, t.clock.now()) })).statusCode, 200);
    const row = await lockoutCounters(t, id);
    assert.deepEqual(
      { ...row },
      { tf_failures: 0, tf_locked_until: null, tf_lockouts: 0 },
      'success resets the counter',
    );
  });

  test('a burst of 50 wrong guesses over 10 pending sign-ins never checks more than the lockout budget', async () => {
    const { email, key } = await enrolled();
    // Sign-ins one after the other (the password throttle charges concurrent sign-ins of one
    // account and address up front); the guesses are what fire at once.
    const clients: Client[] = [];
    for (let i = 0; i < 10; i++) clients.push(await pending(i % 2 ? second : t, email));
    const results = await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 5 }, () => c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) })),
      ),
    );
    const checked = results.filter((r) =>
      ['TWO_FACTOR_INVALID_TOKEN', 'TWO_FACTOR_TOO_MANY_ATTEMPTS'].includes(r.data.response.error_code),
    );
    assert.ok(checked.length <= 10, `${checked.length} guesses were checked (threshold 10)`);
    assert.ok(results.some((r) => r.data.response.error_code === 'TWO_FACTOR_LOCKED'));
    assert.ok(results.every((r) => r.statusCode !== 200 && r.statusCode !== 500));
  });

  test('the same right code fired five times at once signs in exactly once', async () => {
    const { email, key } = await enrolled();
    const c = await pending(t, email);
    const code = oathtool(key, t.clock.now());
    const results = await Promise.all(Array.from({ length: 5 }, () => c.post('/tf-validate', { code })));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
  });

  test('the same TOTP code on two pending sign-ins of one user is accepted once (replay across sessions)', async () => {
    const { email, key } = await enrolled();
    t.clock.advance(STEP_MS);
    second.clock.set(t.clock.now());
    const a = await pending(t, email);
    const b = await pending(second, email);
    const code = oathtool(key, t.clock.now());
    const [ra, rb] = await Promise.all([a.post('/tf-validate', { code }), b.post('/tf-validate', { code })]);
    assert.deepEqual([ra.statusCode, rb.statusCode].sort(), [200, 400]);
  });

  test('wrong passwords never touch the second-factor lockout', async () => {
    const { email, key, id } = await enrolled();
    for (let i = 0; i < 20; i++) await new Client(() => t.app).login(email, 'wrong-password');
    // The password throttle (SPEC §4.2) holds this address back for a while; let it pass.
    t.clock.advance(2 * 3600 * 1000);
    second.clock.set(t.clock.now());
    const row = await t.database.db
      .selectFrom('users')
      .select(['tf_failures', 'tf_locked_until'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...row }, { tf_failures: 0, tf_locked_until: null });
    t.clock.advance(STEP_MS);
    const c = await pending(t, email);
    assert.equal((await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) })).statusCode, 200);
  });
});
