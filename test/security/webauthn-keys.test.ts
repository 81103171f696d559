/**
 * Threats against security keys as a second factor (README "Security keys"):
 * - someone with the password but not the key tries assertions made by other keys (their
 *   own, registered to their own account) or forged ones: each is a charged guess, so the
 *   attempt cap and the lockout stop them as they stop wrong codes;
 * - a cloned key (its counter behind the stored one) is refused and the event audited;
 * - a captured or duplicated assertion is sent many times at once (a double click, a retrying
 *   proxy, or an attacker racing the owner): its challenge is used once, so exactly one
 *   request signs in and the rest are replays that do not count toward the lockout.
 * The assertions are real (test/helpers/soft-authenticator.ts) and verified by the library.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { lockoutCounters, signedIn } from '../helpers/two-factor.js';
import { registerKey, signinOptions, WAN_ENV } from '../helpers/webauthn.js';

describe(`security keys: budgets, clones and bursts (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ ...WAN_ENV, SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: '7' });
  });
  after(() => t.close());

  async function keyUser() {
    const email = uniqueEmail('wansec');
    const { id } = await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    const key = await registerKey(c, 'k');
    await c.post('/logout');
    return { email, id, key };
  }
  const auditCount = async (userId: number, type: string) =>
    (
      await t.database.db
        .selectFrom('audit_events')
        .select('id')
        .where('user_id', '=', userId)
        .where('type', '=', type)
        .execute()
    ).length;

  test("another user's key is refused and charged; the 5th wrong assertion voids the sign-in, the 7th locks", async () => {
    const victim = await keyUser();
    const attacker = await keyUser();
    const c = new Client(() => t.app);
    const guess = async () => {
      const { options, state } = await signinOptions(c);
      return (await c.post(`/wan-signin/${state}`, { credential: attacker.key.assert(options) })).data.response
        .error_code;
    };
    await c.login(victim.email, 'password-1');
    for (let i = 1; i <= 4; i++) assert.equal(await guess(), 'WEBAUTHN_UNKNOWN_CREDENTIAL_ID', `guess ${i}`);
    assert.equal(await guess(), 'TWO_FACTOR_TOO_MANY_ATTEMPTS', 'the 5th voids the sign-in');
    await c.login(victim.email, 'password-1');
    assert.equal(await guess(), 'WEBAUTHN_UNKNOWN_CREDENTIAL_ID');
    assert.equal(await guess(), 'TWO_FACTOR_LOCKED', 'the 7th failure in a row locks');
    // 7 failures: the 7th guess above was the lock.
    const counters = await lockoutCounters(t, victim.id);
    assert.ok(counters.tf_locked_until && counters.tf_locked_until > t.clock.now(), 'locked');
    await c.login(victim.email, 'password-1');
    const { options, state } = await signinOptions(c);
    const locked = await c.post(`/wan-signin/${state}`, { credential: victim.key.assert(options) });
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.data.response.error_code, 'TWO_FACTOR_LOCKED');
    assert.equal(await auditCount(victim.id, 'tf.lockout'), 1);
    assert.equal(await auditCount(attacker.id, 'tf.failed'), 0, "nothing is written on the key owner's account");
  });

  test('a cloned key (counter behind) is refused and audited; the real key goes on', async () => {
    const { email, id, key } = await keyUser();
    const c = new Client(() => t.app);
    for (let i = 0; i < 3; i++) {
      await c.login(email, 'password-1');
      const { options, state } = await signinOptions(c);
      assert.equal((await c.post(`/wan-signin/${state}`, { credential: key.assert(options) })).statusCode, 200);
      await c.post('/logout');
    }
    const stored = key.counter;
    key.counter = 1; // the clone was copied early on
    await c.login(email, 'password-1');
    let { options, state } = await signinOptions(c);
    const clone = await c.post(`/wan-signin/${state}`, { credential: key.assert(options) });
    assert.equal(clone.data.response.error_code, 'WEBAUTHN_NO_VERIFY');
    const [row] = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('user_id', '=', id)
      .where('type', '=', 'webauthn.counter_regression')
      .execute();
    assert.deepEqual(row?.details, { name: 'k', stored, presented: 2 });
    key.counter = stored;
    ({ options, state } = await signinOptions(c));
    assert.equal((await c.post(`/wan-signin/${state}`, { credential: key.assert(options) })).statusCode, 200);
  });

  test('a burst of one assertion (20 at once) signs in exactly once; the rest are replays, not failures', async () => {
    const { email, id, key } = await keyUser();
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    const before = await auditCount(id, 'signin.success');
    const { options, state } = await signinOptions(c);
    const credential = JSON.stringify(key.assert(options));
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.post(`/wan-signin/${state}`, { credential })));
    const statuses = answers.map((a) => a.statusCode);
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
    assert.ok(
      statuses.every((s) => s === 200 || s === 400 || s === 429),
      statuses.join(','),
    );
    assert.equal(await auditCount(id, 'signin.success'), before + 1);
    assert.equal(await auditCount(id, 'tf.passed'), 1);
    assert.equal((await lockoutCounters(t, id)).tf_failures, 0, 'replays do not count toward the lockout');
  });
});
