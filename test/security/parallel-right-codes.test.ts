/**
 * Threat: a user (or a double-clicking client, or a retrying proxy) sends the
 * right code many times at once, and the service loses the sign-in or locks
 * the owner out. The caps must stay exact (no more guesses checked than the
 * budget), yet a right code charged within the budget must still sign in:
 * requests past the cap are refused without voiding the pending sign-in that
 * an in-flight request may still complete, and a right code that lost the race
 * to its own twin (a replay of a code accepted a moment ago) is refused without
 * counting toward the user's lockout (README "Abuse resistance").
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, enrolEmail, lockoutCounters, signedIn } from '../helpers/two-factor.js';

describe(`parallel right codes (${DB_KIND})`, () => {
  let t: TestApp;
  let second: TestApp;
  before(async () => {
    t = await createTestApp();
    // A second instance on the same database, as behind a load balancer: the burst is split over both.
    second = await createTestApp({}, t.database);
  });
  after(async () => {
    await second.close();
    await t.close();
  });

  /** The same browser (cookies) talking to the second instance. */
  function twin(c: Client): Client {
    const other = new Client(() => second.app);
    other.cookies = new Map(c.cookies);
    other.csrf = c.csrf;
    return other;
  }

  async function lockState(id: number) {
    const user = await lockoutCounters(t, id);
    const lockouts = await t.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('user_id', '=', id)
      .where('type', '=', 'tf.lockout')
      .execute();
    return { ...user, lockoutRows: lockouts.length };
  }

  test('20 parallel right e-mail codes on one pending sign-in: exactly one sign-in, no lockout', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    await enrolEmail(t, await signedIn(t, email, 'password-1'), email);
    t.clock.advance(60_000); // past the per-user send gap
    const c = new Client(() => t.app);
    assert.equal((await c.login(email, 'password-1')).data.response.tf_state, 'ready');
    const code = t.senders.lastCode(email);
    second.clock.set(t.clock.now());
    const other = twin(c);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? other : c).post('/tf-validate', { code })),
    );
    const statuses = results.map((r) => `${r.statusCode} ${r.data.response.error_code ?? ''}`);
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1, statuses.join(', '));
    assert.ok(
      results.every((r) => r.statusCode === 200 || r.data.response.error_code !== 'TWO_FACTOR_LOCKED'),
      statuses.join(', '),
    );
    assert.deepEqual(await lockState(user.id), {
      tf_failures: 0,
      tf_locked_until: null,
      tf_lockouts: 0,
      lockoutRows: 0,
    });
  });

  test('20 parallel right TOTP codes over 20 sessions: one sign-in, no lockout; the owner signs in after', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    t.clock.advance(60_000); // a step after the one used at setup
    // Sign-ins one after the other (the password throttle charges concurrent sign-ins of one
    // account and address up front); the codes are what fire at once.
    const clients: Client[] = [];
    for (let i = 0; i < 20; i++) {
      const c = new Client(() => t.app);
      assert.equal((await c.login(email, 'password-1')).data.response.tf_state, 'ready');
      clients.push(c);
    }
    const code = oathtool(key, t.clock.now());
    second.clock.set(t.clock.now());
    const results = await Promise.all(clients.map((c, i) => (i % 2 ? twin(c) : c).post('/tf-validate', { code })));
    const statuses = results.map((r) => `${r.statusCode} ${r.data.response.error_code ?? ''}`);
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1, statuses.join(', '));
    const state = await lockState(user.id);
    assert.equal(state.tf_locked_until, null, statuses.join(', '));
    assert.equal(state.lockoutRows, 0);
    assert.equal(state.tf_lockouts, 0);
    // Not locked: the owner's next code, a step later, signs in.
    t.clock.advance(30_000);
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    assert.equal((await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) })).statusCode, 200);
  });

  // The two moves of the e-mail burst, one at a time (a burst over inject() rarely interleaves
  // them in the losing order): a request past the cap, and the N-th wrong answer arriving while
  // the code is being used by the request that will complete the sign-in.
  async function setPending(id: string, changes: { attempts: number; code_hash?: null; code_expires_at?: null }) {
    await t.database.db.updateTable('tf_pending').set(changes).where('id', '=', id).execute();
  }

  async function stillPending(id: string): Promise<boolean> {
    return (
      (await t.database.db.selectFrom('tf_pending').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
    );
  }

  async function emailPending(): Promise<{ c: Client; email: string; pendingId: string }> {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    await enrolEmail(t, await signedIn(t, email, 'password-1'), email);
    t.clock.advance(60_000);
    const c = new Client(() => t.app);
    assert.equal((await c.login(email, 'password-1')).data.response.tf_state, 'ready');
    const row = await t.database.db
      .selectFrom('tf_pending')
      .innerJoin('users', 'users.id', 'tf_pending.user_id')
      .select('tf_pending.id')
      .where('users.email', '=', email)
      .executeTakeFirstOrThrow();
    return { c, email, pendingId: row.id };
  }

  test('a request past the cap is refused without voiding the sign-in; the right code charged within it still signs in', async () => {
    const { c, email, pendingId } = await emailPending();
    const code = t.senders.lastCode(email);
    const max = t.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS;
    // Every attempt is charged to requests still in flight.
    await setPending(pendingId, { attempts: max });
    const past = await c.post('/tf-validate', { code });
    assert.equal(past.data.response.error_code, 'TWO_FACTOR_PERMISSION_DENIED');
    assert.ok(await stillPending(pendingId), 'the pending sign-in is still there for the requests in flight');
    // One of those, charged within the cap, now completes it.
    await setPending(pendingId, { attempts: max - 1 });
    assert.equal((await c.post('/tf-validate', { code })).statusCode, 200);
  });

  test('the N-th failure does not void a sign-in whose code a concurrent request just used', async () => {
    const { c, pendingId } = await emailPending();
    const max = t.config.SECURITY_TWO_FACTOR_MAX_ATTEMPTS;
    // The right code was used (consumeCode) by a request now completing the sign-in; this is the N-th guess.
    await setPending(pendingId, { attempts: max - 1, code_hash: null, code_expires_at: null });
    const nth = await c.post('/tf-validate', { code: '000000' });
    assert.equal(nth.data.response.error_code, 'TWO_FACTOR_TOO_MANY_ATTEMPTS');
    assert.ok(await stillPending(pendingId), 'the sign-in the other request is completing was not voided');
  });
});
