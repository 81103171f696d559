/**
 * Threat: a burst of concurrent second-factor requests that the counters or
 * the audit trail miscount. A guess must be charged, and its tf.failed row
 * written, exactly once; a lost race must leave no trace of a sign-in; the
 * lock and the voided pending sign-in are recorded once however many requests
 * see them (SPEC §4.2, §10). Each charge, lock decision and audit row is
 * written by the statement that decides it, so these tests read the rows back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn, wrongCode } from '../helpers/two-factor.js';

describe(`exact counters and audit rows under bursts (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  async function enrolled(): Promise<{ email: string; key: string; id: number }> {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    return { email, key, id: user.id };
  }

  async function pending(email: string): Promise<Client> {
    const c = new Client(() => t.app);
    assert.equal((await c.login(email, 'password-1')).data.response.tf_state, 'ready');
    return c;
  }

  async function auditCounts(userId: number): Promise<Record<string, number>> {
    const rows = await t.database.db.selectFrom('audit_events').select('type').where('user_id', '=', userId).execute();
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.type] = (counts[r.type] ?? 0) + 1;
    return counts;
  }

  test('30 wrong guesses at once on one pending sign-in: 5 charged, 5 tf.failed rows, one voiding', async () => {
    const { email, key, id } = await enrolled();
    const before = await auditCounts(id);
    const c = await pending(email);
    const results = await Promise.all(
      Array.from({ length: 30 }, () => c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) })),
    );
    const codes = results.map((r) => r.data.response.error_code as string);
    assert.equal(codes.filter((k) => k === 'TWO_FACTOR_INVALID_TOKEN').length, 4);
    assert.equal(codes.filter((k) => k === 'TWO_FACTOR_TOO_MANY_ATTEMPTS').length, 1);
    assert.equal(codes.filter((k) => k === 'TWO_FACTOR_PERMISSION_DENIED').length, 25);
    const after = await auditCounts(id);
    assert.equal((after['tf.failed'] ?? 0) - (before['tf.failed'] ?? 0), 5);
    assert.equal((after['tf.too_many_attempts'] ?? 0) - (before['tf.too_many_attempts'] ?? 0), 1);
    const user = await t.database.db
      .selectFrom('users')
      .select('tf_failures')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(user.tf_failures, 5, 'the user was charged once per checked guess');
    assert.equal(
      await t.database.db.selectFrom('tf_pending').select('id').where('user_id', '=', id).executeTakeFirst(),
      undefined,
    );
  });

  test('a burst over three pending sign-ins locks once: one tf.lockout row, failures reset by the lock', async () => {
    const { email, key, id } = await enrolled();
    const clients = [await pending(email), await pending(email), await pending(email)];
    const results = await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 5 }, () => c.post('/tf-validate', { code: wrongCode(key, t.clock.now()) })),
      ),
    );
    const codes = results.map((r) => r.data.response.error_code as string);
    const counts = await auditCounts(id);
    assert.equal(counts['tf.lockout'], 1, codes.join(', '));
    // Every checked guess left one tf.failed row. A guess that reached the threshold is answered
    // with the lock; in a burst the lock may also land on a guess charged past it, unchecked.
    const answeredWrong = codes.filter(
      (k) => k === 'TWO_FACTOR_INVALID_TOKEN' || k === 'TWO_FACTOR_TOO_MANY_ATTEMPTS',
    ).length;
    assert.ok(
      counts['tf.failed']! >= answeredWrong && counts['tf.failed']! <= 10,
      `${counts['tf.failed']} tf.failed rows; ${codes.join(', ')}`,
    );
    const user = await t.database.db
      .selectFrom('users')
      .select(['tf_failures', 'tf_lockouts'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...user }, { tf_failures: 0, tf_lockouts: 1 });
  });

  test('the right code five times at once: one sign-in, one tf.passed and one signin.success row', async () => {
    const { email, key, id } = await enrolled();
    const before = await auditCounts(id);
    const c = await pending(email);
    const code = oathtool(key, t.clock.now());
    const results = await Promise.all(Array.from({ length: 5 }, () => c.post('/tf-validate', { code })));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    const after = await auditCounts(id);
    assert.equal(after['tf.passed']! - (before['tf.passed'] ?? 0), 1);
    assert.equal(after['signin.success']! - before['signin.success']!, 1);
    // The losers found the pending row consumed: charged (the fifth at the cap), refused, never signed in.
    const losers = results.filter((r) => r.statusCode !== 200).map((r) => r.data.response.error_code as string);
    const refusals = ['TWO_FACTOR_INVALID_TOKEN', 'TWO_FACTOR_TOO_MANY_ATTEMPTS', 'TWO_FACTOR_PERMISSION_DENIED'];
    assert.ok(
      losers.every((k) => refusals.includes(k)),
      losers.join(', '),
    );
  });
});
