/**
 * The database round trips (statements, BEGIN and COMMIT included) each step
 * of a sign-in costs, pinned so a change that adds one is noticed (issue #10:
 * besides the password hash, a sign-in's cost is mostly its statements).
 * Counts, not timings: they are the same on every machine. A budget may go
 * down; raising one needs a reason in the commit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn, STEP_MS, wrongCode } from '../helpers/two-factor.js';

const BUDGET = {
  // Throttle (BEGIN, lock both rows, charge both, COMMIT), the user, the throttle refund, pending row, session.
  login: 8,
  // Session, charge the guess, commit (pending consumed, step set, audit rows), new session replacing the old.
  validateRight: 4,
  // Session (the first time; then cached), charge the guess, tf.failed row with the lock decision.
  validateWrong: 3,
  // The cap's wrong code: charge, then one statement for its tf.failed row, the lock decision and the void (the
  // pending row deleted with its tf.too_many_attempts row). The session is not rewritten: its reference names no row.
  validateVoid: 2,
  // Session, with the user's roles and two-factor policy in the same statement (0 once the session is cached).
  me: 1,
  // Session, delete it with its signout row.
  logout: 2,
};

describe(`statements per request (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  async function counted<T extends { statusCode: number }>(
    expectedStatus: number,
    send: () => Promise<T>,
  ): Promise<number> {
    const before = t.database.stats.queries;
    const res = await send();
    assert.equal(res.statusCode, expectedStatus);
    return t.database.stats.queries - before;
  }

  async function enrolled(): Promise<{ email: string; key: string }> {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    t.clock.advance(STEP_MS);
    return { email, key };
  }

  test('a two-factor sign-in: login, right code, /me, logout', async () => {
    const { email, key } = await enrolled();
    const c = new Client(() => t.app);
    const spent = {
      login: await counted(200, () => c.login(email, 'password-1')),
      validateRight: await counted(200, () => c.post('/tf-validate', { code: oathtool(key, t.clock.now()) })),
      me: await counted(200, () => c.get('/me')),
      logout: await counted(200, () => c.post('/logout')),
    };
    for (const [step, n] of Object.entries(spent)) {
      assert.ok(
        n <= BUDGET[step as keyof typeof BUDGET],
        `${step}: ${n} statements, budget ${BUDGET[step as keyof typeof BUDGET]} (${JSON.stringify(spent)})`,
      );
    }
    // Nothing is left behind: the pending row and both sessions are gone.
    const sessions = await t.database.db
      .selectFrom('sessions')
      .select('id_hash')
      .where('user_id', 'is', null)
      .execute();
    assert.equal(sessions.length, 0, 'no anonymous (pending) session row is left');
  });

  test('a wrong code', async () => {
    const { email, key } = await enrolled();
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    const wrong = wrongCode(key, t.clock.now());
    for (let i = 1; i < 5; i++) {
      const n = await counted(400, () => c.post('/tf-validate', { code: wrong }));
      assert.ok(n <= BUDGET.validateWrong, `wrong code ${i}: ${n} statements, budget ${BUDGET.validateWrong}`);
    }
    const voided = await counted(429, () => c.post('/tf-validate', { code: wrong }));
    assert.ok(
      voided <= BUDGET.validateVoid,
      `the cap's wrong code: ${voided} statements, budget ${BUDGET.validateVoid}`,
    );
    // The session still names the voided row, which no step accepts: the next guess is refused and the
    // reference cleared, and the right code does not pass either.
    const after = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(after.statusCode, 400);
    assert.equal(after.json().response.error_code, 'TWO_FACTOR_PERMISSION_DENIED');
  });
});
