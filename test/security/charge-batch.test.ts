/**
 * Group commit of second-factor charges (src/two-factor/pending.repository.ts
 * chargeGuess, migrations/20261209T0100_charge_guesses.ts): the guesses of one
 * event-loop round are charged by one call.
 *
 * Threats: a batch that counts n guesses on one pending row as one (an UPDATE
 * touches a row once per statement), so a burst gets more checks than the cap;
 * a batch that charges a guess out of its scope (another caller's row, an
 * expired one) because a neighbour in the batch was in scope; a locked user
 * charged failures; two instances whose batches lock the same rows in different
 * orders and deadlock (a 5xx instead of an answer), or lose a charge; a round
 * of refusals that loses a tf.failed row, locks twice, or doubles the lock
 * of a user whose failure count was just reset by the refusal before it; a
 * cap's refusal that voids its pending row although it set the lock, deletes a
 * row whose sent code a concurrent request is completing the sign-in with, or
 * deadlocks with charges (it locks a pending row as well as a user).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/db/database.js';
import { STEP } from '../../src/two-factor/flow.js';
import { createAuditor } from '../../src/audit/audit.js';
import { FixedClock } from '../../src/clock.js';
import { refuseAndLockIfOver, type Refusal } from '../../src/two-factor/budget/lockout.repository.js';
import { chargeGuess, insertPending, type PendingScope } from '../../src/two-factor/pending.repository.js';
import { captureLogger } from '../helpers/log-capture.js';
import { createUser, uniqueEmail } from '../helpers/app.js';
import { createTestDatabase, DB_KIND, TEST_DATABASE_URL } from '../helpers/db.js';

const MAX = 5;

describe(`charges of one round in one call (${DB_KIND})`, () => {
  let database: Database & { schema: string };
  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.close());

  async function pendingFor(userId: number, fsUniquifier: string, kind: 'signin' | 'change' = 'signin') {
    const id = randomUUID();
    const now = new Date();
    await insertPending(database.db, {
      id,
      user_id: userId,
      kind,
      state: 'ready',
      fs_uniquifier: fsUniquifier,
      created_at: now,
      expires_at: new Date(now.getTime() + 600_000),
    });
    return id;
  }

  /** Another instance's pool on the same schema (the tests that need two are skipped on PGlite). */
  const secondInstance = () =>
    openDatabase({ databaseUrl: TEST_DATABASE_URL!, dataDir: 'memory://', schema: database.schema });

  async function newUser() {
    const user = await createUser(database, uniqueEmail('batch'), 'password-123');
    return { id: user.id, fs: user.fs_uniquifier };
  }

  const scope = (id: string, over: Partial<PendingScope> = {}): PendingScope => ({
    id,
    now: new Date(),
    ...STEP.validate,
    signedInUserId: null,
    ...over,
  });

  async function counters(userId: number, pendingId: string) {
    const u = await database.db
      .selectFrom('users')
      .select('tf_failures')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const p = await database.db
      .selectFrom('tf_pending')
      .select('attempts')
      .where('id', '=', pendingId)
      .executeTakeFirstOrThrow();
    return { failures: u.tf_failures, attempts: p.attempts };
  }

  test('12 guesses on one pending row in one round: exactly 5 charged, numbered 1 to 5, and 5 failures', async () => {
    const user = await newUser();
    const pending = await pendingFor(user.id, user.fs);
    const results = await Promise.all(Array.from({ length: 12 }, () => chargeGuess(database.db, scope(pending), MAX)));
    const charged = results.filter((r) => r !== null);
    assert.equal(charged.length, MAX);
    assert.deepEqual(charged.map((r) => r!.pending.attempts).sort(), [1, 2, 3, 4, 5]);
    assert.deepEqual(charged.map((r) => r!.user.tf_failures).sort(), [1, 2, 3, 4, 5], 'each its own failure number');
    assert.deepEqual(await counters(user.id, pending), { failures: MAX, attempts: MAX });
  });

  test('a guess out of scope is not charged though its neighbours in the round are', async () => {
    const a = await newUser();
    const b = await newUser();
    const pa = await pendingFor(a.id, a.fs);
    const pb = await pendingFor(b.id, b.fs);
    const change = await pendingFor(b.id, b.fs, 'change');
    const [ok, expired, otherCaller, anonymousOnChange, wrongState, ok2] = await Promise.all([
      chargeGuess(database.db, scope(pa), MAX),
      chargeGuess(database.db, scope(pb, { now: new Date(Date.now() + 3600_000) }), MAX),
      chargeGuess(database.db, scope(change, { signedInUserId: a.id }), MAX),
      chargeGuess(database.db, scope(change), MAX),
      chargeGuess(database.db, scope(pb, { states: ['select'] }), MAX),
      chargeGuess(database.db, scope(pb), MAX),
    ]);
    assert.equal(ok?.pending.id, pa);
    assert.equal(ok2?.pending.id, pb);
    assert.equal(ok2?.pending.attempts, 1, 'the out-of-scope guesses on pb took nothing');
    assert.equal(expired, null);
    assert.equal(otherCaller, null, "another user's change");
    assert.equal(anonymousOnChange, null, 'an anonymous caller on a signed-in kind');
    assert.equal(wrongState, null);
    assert.deepEqual(await counters(b.id, pb), { failures: 1, attempts: 1 });
    assert.deepEqual(await counters(b.id, change), { failures: 1, attempts: 0 });
  });

  test('a locked user: attempts are charged, failures are not', async () => {
    const user = await newUser();
    const pending = await pendingFor(user.id, user.fs);
    await database.db
      .updateTable('users')
      .set({ tf_locked_until: new Date(Date.now() + 600_000), tf_failures: 2 })
      .where('id', '=', user.id)
      .execute();
    const results = await Promise.all(Array.from({ length: 3 }, () => chargeGuess(database.db, scope(pending), MAX)));
    assert.deepEqual(results.map((r) => r!.user.tf_failures).sort(), [2, 2, 2]);
    assert.ok(results.every((r) => r!.user.tf_locked_until !== null));
    assert.deepEqual(await counters(user.id, pending), { failures: 2, attempts: 3 });
  });

  test(
    'two instances charging the same users in opposite orders: no deadlock, every charge counted',
    { skip: TEST_DATABASE_URL ? false : 'two connection pools need Postgres' },
    async () => {
      const other = await secondInstance();
      try {
        // Eight users with two pending sign-ins each; instance A names them in one order, B in the other.
        const rows: Array<{ user: number; pending: string }> = [];
        for (let i = 0; i < 8; i++) {
          const user = await newUser();
          for (let j = 0; j < 2; j++) rows.push({ user: user.id, pending: await pendingFor(user.id, user.fs) });
        }
        const reversed = [...rows].reverse();
        const rounds = 4; // each pending row: 2 instances × 4 rounds = 8 guesses, 5 of them charged
        const burst = (db: Database, order: typeof rows) =>
          Promise.all(order.map((r) => chargeGuess(db.db, scope(r.pending), MAX)));
        const all = [];
        for (let round = 0; round < rounds; round++) all.push(burst(database, rows), burst(other, reversed));
        const results = (await Promise.all(all)).flat();
        assert.equal(results.filter((r) => r !== null).length, rows.length * MAX);
        for (const r of rows) assert.equal((await counters(r.user, r.pending)).attempts, MAX);
        for (const r of rows.filter((_, i) => i % 2 === 0))
          assert.equal((await counters(r.user, r.pending)).failures, 2 * MAX, 'two pending rows, five each');

        // Then a round of refusals from each instance, again in opposite orders: each user has
        // 10 failures, so with a threshold of 10 exactly one refusal per user sets its lock.
        const audit = createAuditor(new FixedClock(new Date()), captureLogger().logger);
        const refuseAll = (db: Database, order: typeof rows) =>
          Promise.all(
            order.map((r) =>
              refuseAndLockIfOver(
                db.db,
                {
                  userId: r.user,
                  now: new Date(),
                  audit: audit.row('tf.failed', r.user, { ip: null, userAgent: null }, {}),
                },
                2 * MAX,
                60,
              ),
            ),
          );
        const locks = (await Promise.all([refuseAll(database, rows), refuseAll(other, reversed)])).flat();
        assert.equal(locks.filter((l) => l !== null).length, rows.length / 2, 'one lock per user');
      } finally {
        await other.close();
      }
    },
  );

  test('refusals of one round: every tf.failed row written, the lock set once, by the refusal that crossed', async () => {
    const user = await newUser();
    await database.db.updateTable('users').set({ tf_failures: 5, tf_lockouts: 1 }).where('id', '=', user.id).execute();
    const clock = new FixedClock(new Date());
    const audit = createAuditor(clock, captureLogger().logger);
    const refuse = (i: number) =>
      refuseAndLockIfOver(
        database.db,
        {
          userId: user.id,
          now: clock.now(),
          audit: audit.row('tf.failed', user.id, { ip: '127.0.0.1', userAgent: 'test' }, { i }),
        },
        5,
        60,
      );
    const locks = await Promise.all(Array.from({ length: 6 }, (_, i) => refuse(i)));
    assert.deepEqual(
      locks.map((l) => l?.getTime() ?? null),
      [clock.now().getTime() + 120_000, null, null, null, null, null],
      'the first crossed the threshold (2^1 × 60 s); its statement reset the count for the rest',
    );
    const rows = await database.db
      .selectFrom('audit_events')
      .select('details')
      .where('user_id', '=', user.id)
      .where('type', '=', 'tf.failed')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => (r.details as { i: number }).i),
      [0, 1, 2, 3, 4, 5],
      'every row, in order',
    );
    const after = await database.db
      .selectFrom('users')
      .select(['tf_failures', 'tf_lockouts'])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(after, { tf_failures: 0, tf_lockouts: 2 });
  });

  /** The cap's refusal of a guess on `pending`: voids it unless the refusal sets the lock. */
  function capRefusal(userId: number, pending: string): Refusal {
    const audit = createAuditor(new FixedClock(new Date()), captureLogger().logger);
    const ctx = { ip: null, userAgent: null };
    return {
      userId,
      now: new Date(),
      audit: audit.row('tf.failed', userId, ctx, { pending }),
      voids: { pendingId: pending, audit: audit.row('tf.too_many_attempts', userId, ctx, { pending }) },
    };
  }

  async function voidOutcome(userId: number, pending: string) {
    const row = await database.db.selectFrom('tf_pending').select('id').where('id', '=', pending).executeTakeFirst();
    const audit = await database.db
      .selectFrom('audit_events')
      .select('type')
      .where('user_id', '=', userId)
      .where(sql<boolean>`details->>'pending' = ${pending}`)
      .orderBy('id')
      .execute();
    return { kept: row !== undefined, audit: audit.map((a) => a.type) };
  }

  for (const [name, together] of [
    ['alone (one statement)', false],
    ['in one round (refuse_guesses)', true],
  ] as const) {
    test(`the cap's refusal ${name}: voids unless it locks, and keeps a row whose code was used`, async () => {
      const free = await newUser();
      const locking = await newUser();
      const used = await newUser();
      await database.db.updateTable('users').set({ tf_failures: 5 }).where('id', '=', locking.id).execute();
      const pFree = await pendingFor(free.id, free.fs);
      const pLocking = await pendingFor(locking.id, locking.fs);
      const pUsed = await pendingFor(used.id, used.fs);
      // A sent code used by a concurrent request: purpose kept, hash cleared (consumeCode).
      await database.db.updateTable('tf_pending').set({ code_purpose: 'login' }).where('id', '=', pUsed).execute();
      const refusals = [capRefusal(free.id, pFree), capRefusal(locking.id, pLocking), capRefusal(used.id, pUsed)];
      const refuse = (r: Refusal) => refuseAndLockIfOver(database.db, r, 5, 60);
      const locks = together
        ? await Promise.all(refusals.map(refuse))
        : [await refuse(refusals[0]!), await refuse(refusals[1]!), await refuse(refusals[2]!)];
      assert.deepEqual(
        locks.map((l) => l !== null),
        [false, true, false],
      );
      assert.deepEqual(await voidOutcome(free.id, pFree), {
        kept: false,
        audit: ['tf.failed', 'tf.too_many_attempts'],
      });
      assert.deepEqual(await voidOutcome(locking.id, pLocking), { kept: true, audit: ['tf.failed'] });
      assert.deepEqual(await voidOutcome(used.id, pUsed), { kept: true, audit: ['tf.failed', 'tf.too_many_attempts'] });
    });
  }

  test(
    'two instances charging and voiding the same pending rows in opposite orders: no deadlock',
    { skip: TEST_DATABASE_URL ? false : 'two connection pools need Postgres' },
    async () => {
      const other = await secondInstance();
      try {
        const users = [];
        for (let i = 0; i < 8; i++) users.push(await newUser());
        // In each round an instance charges every row and voids every row, so each void's call
        // locks pending rows and users while its own charges and the other instance's lock them too.
        const round = (db: Database, order: Array<{ user: number; pending: string }>) =>
          Promise.all(
            order.flatMap((r) => [
              chargeGuess(db.db, scope(r.pending), MAX),
              refuseAndLockIfOver(db.db, capRefusal(r.user, r.pending), 1000, 60),
            ]),
          );
        // Fresh pending rows for each of several rounds: a deadlock needs the calls to overlap.
        for (let n = 0; n < 10; n++) {
          const rows: Array<{ user: number; pending: string }> = [];
          for (const user of users) {
            for (let j = 0; j < 2; j++) rows.push({ user: user.id, pending: await pendingFor(user.id, user.fs) });
          }
          const results = await Promise.all([round(database, rows), round(other, [...rows].reverse())]);
          assert.equal(results.flat().length, rows.length * 4, 'every call answered');
          for (const r of rows) assert.equal((await voidOutcome(r.user, r.pending)).kept, false);
        }
      } finally {
        await other.close();
      }
    },
  );
});
