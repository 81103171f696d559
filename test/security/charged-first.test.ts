/**
 * Threat: telling the right code apart from wrong ones without either being
 * counted. If a guess that the budget refuses were checked anyway, and the
 * request then ran differently for a right code than for a wrong one (a
 * different answer, or different work and so a different time), an attacker
 * past the attempt cap or the lockout could send codes without limit and see
 * which one was right. So every guess is charged before it is checked
 * (docs/architecture.md, Budgets, "Why charge first"): a guess the budget
 * refuses must get the same answer from the same statements whatever code it
 * carries. This compares a right and a wrong code on each way the budget
 * refuses one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolledUser, pendingSignIn } from '../helpers/rescue.js';
import { wrongCode } from '../helpers/two-factor.js';

const MAX_ATTEMPTS = 5;
const THRESHOLD = 10;

describe(`a refused guess runs the same whatever it holds (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      SECURITY_TWO_FACTOR_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: String(THRESHOLD),
    });
  });
  after(async () => {
    await t.close();
  });

  /** A user with an authenticator, signed in with the password up to the second factor. */
  async function pendingAuthenticator(): Promise<{ c: Client; key: string; userId: number }> {
    const user = await enrolledUser(t, 'authenticator');
    return { c: await pendingSignIn(t, user.email), key: user.key!, userId: user.id };
  }

  /** One guess: its answer and the text of every statement it sent. */
  async function guess(c: Client, code: string) {
    const statements: string[] = [];
    t.database.stats.onQuery = (sql) => statements.push(sql);
    try {
      const res = await c.post('/tf-validate', { code });
      const r = res.data.response;
      return {
        answer: { status: res.statusCode, error: r.error_code, retryAfter: res.headers['retry-after'] },
        statements,
      };
    } finally {
      t.database.stats.onQuery = undefined;
    }
  }

  /**
   * A right and a wrong code, each after a refused guess that loaded the session
   * (later requests find it cached, so the first would send one statement more).
   */
  async function rightAndWrong(c: Client, key: string) {
    await guess(c, wrongCode(key, t.clock.now()));
    const right = await guess(c, oathtool(key, t.clock.now()));
    const wrong = await guess(c, wrongCode(key, t.clock.now()));
    assert.deepEqual(right.answer, wrong.answer, 'the same answer');
    assert.deepEqual(right.statements, wrong.statements, 'the same statements, in the same order');
    assert.ok(right.statements.length > 0);
    return right.answer;
  }

  const pendingRow = (id: number) =>
    t.database.db.selectFrom('tf_pending').select(['attempts']).where('user_id', '=', id).executeTakeFirst();

  test('past the cap, the pending sign-in still in scope', async () => {
    const { c, key, userId } = await pendingAuthenticator();
    // As when the cap's last guesses are still in flight: the row is used up, not yet voided.
    await t.database.db
      .updateTable('tf_pending')
      .set({ attempts: MAX_ATTEMPTS })
      .where('user_id', '=', userId)
      .execute();
    const answer = await rightAndWrong(c, key);
    assert.equal(answer.status, 400);
    assert.equal(answer.error, 'TWO_FACTOR_PERMISSION_DENIED');
    assert.deepEqual(await pendingRow(userId), { attempts: MAX_ATTEMPTS }, 'the right code did not complete it');
  });

  test('while the user is locked', async () => {
    const { c, key, userId } = await pendingAuthenticator();
    const until = new Date(t.clock.now().getTime() + 15 * 60_000);
    await t.database.db.updateTable('users').set({ tf_locked_until: until }).where('id', '=', userId).execute();
    const answer = await rightAndWrong(c, key);
    assert.equal(answer.status, 429);
    assert.equal(answer.error, 'TWO_FACTOR_LOCKED');
    assert.equal(answer.retryAfter, String(15 * 60));
  });

  test('beyond the lockout budget, with failures in flight', async () => {
    const { c, key, userId } = await pendingAuthenticator();
    // Threshold failures charged and not yet decided: every further guess is past the budget.
    await t.database.db.updateTable('users').set({ tf_failures: THRESHOLD }).where('id', '=', userId).execute();
    const answer = await rightAndWrong(c, key);
    assert.equal(answer.status, 429);
    assert.equal(answer.error, 'TWO_FACTOR_LOCKED');

    // The code was right all along: with the budget back it signs in.
    await t.database.db.updateTable('users').set({ tf_failures: 0 }).where('id', '=', userId).execute();
    assert.equal((await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) })).statusCode, 200);
  });
});
