/**
 * Signed webhooks from the outbox (README, "Webhooks"; docs/architecture.md, Events out).
 *
 * Threats and failures: an event lost because it was written outside the
 * change's transaction, or by a statement that bypasses audit.ts; a receiver
 * that cannot tell our requests from forged ones; events of one user arriving
 * out of order; an event delivered twice (or never) when the receiver fails,
 * hangs or is down for a while; a queue that retries forever.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { FixedClock } from '../../src/clock.js';
import type { Database } from '../../src/db/database.js';
import { lockIfOverThreshold } from '../../src/two-factor/budget/lockout.repository.js';
import { createAuditor } from '../../src/audit/audit.js';
import { createUser, uniqueEmail } from '../helpers/app.js';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/db.js';
import { drain, fannedOut, pendingCount, stopLoops, testLoop, writeEvents } from '../helpers/events.js';
import { captureLogger } from '../helpers/log-capture.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../helpers/webhook-receiver.js';

let database: Database & { schema: string };
let receiver: WebhookReceiver;

before(async () => {
  database = await createTestDatabase();
  receiver = await WebhookReceiver.start();
});
afterEach(stopLoops);
after(async () => {
  await receiver.stop();
  await database.close();
});

async function fresh(): Promise<void> {
  // Each test starts from an empty queue (earlier tests' events are delivered or given up).
  await database.db.deleteFrom('event_outbox').execute();
  receiver.reset();
}

const users = async (n: number): Promise<number[]> => {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await createUser(database, uniqueEmail('wh'), 'password-123')).id);
  return ids;
};

test('an audit row and its outbox row are written in the same transaction, by audit.ts and by a CTE statement', async () => {
  await fresh();
  const clock = new FixedClock();
  const [userId] = await users(1);
  const audit = createAuditor(clock, captureLogger().logger);
  // Rolled back: neither the audit row nor its outbox row survives.
  await assert.rejects(
    database.db.transaction().execute(async (trx) => {
      await audit.record(trx, 'tf.disabled', userId!, { ip: null, userAgent: null });
      throw new Error('roll back');
    }),
  );
  assert.equal((await database.db.selectFrom('event_outbox').selectAll().execute()).length, 0);
  // A repository statement that writes its audit row in a CTE (the lockout).
  await database.db.updateTable('users').set({ tf_failures: 10 }).where('id', '=', userId!).execute();
  const row = audit.row('tf.failed', userId!, { ip: null, userAgent: null }, { method: 'authenticator' });
  assert.ok(await lockIfOverThreshold(database.db, { userId: userId!, now: clock.now(), audit: row }, 10, 60));
  await audit.record(database.db, 'tf.lockout', userId!, { ip: null, userAgent: null });
  const outbox = await database.db.selectFrom('event_outbox').select(['type', 'audit_id']).orderBy('id').execute();
  const audited = await database.db
    .selectFrom('audit_events')
    .select(['id', 'type'])
    .where('user_id', '=', userId!)
    .orderBy('id')
    .execute();
  assert.deepEqual(
    outbox.map((o) => [String(o.audit_id), o.type]),
    audited.map((a) => [String(a.id), a.type]),
  );
});

test('events arrive signed (checked by the Standard Webhooks library), in order per user, exactly once despite 500s, a hang and resets', async () => {
  await fresh();
  const clock = new FixedClock(new Date());
  const ids = await users(3);
  const { loop, metrics } = testLoop(database, clock, { WEBHOOK_URLS: `${receiver.url}/hook?token=a` });
  const written: Array<{ userId: number; n: number }> = [];
  for (let n = 0; n < 8; n++) for (const userId of ids) written.push({ userId, n });
  await writeEvents(
    database,
    clock,
    written.map((w) => ({ type: 'code.sent' as const, userId: w.userId, details: { n: w.n } })),
  );
  receiver.failNext(3, 500).hangNext(1).resetNext(1).failNext(2, 503);
  await drain(database, clock, loop, { stepMs: 10_000 });

  receiver.verifyAll();
  const accepted = receiver.accepted();
  const byId = new Map<string, number>();
  for (const e of accepted) byId.set(e.id, (byId.get(e.id) ?? 0) + 1);
  assert.equal(byId.size, written.length, 'every event delivered');
  assert.ok(
    [...byId.values()].every((c) => c === 1),
    'none delivered twice',
  );
  for (const userId of ids) {
    const order = accepted.filter((e) => e.userId === userId).map((e) => e.details.n);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7], `user ${userId}'s events in order`);
  }
  const hung = receiver.requests.find((r) => r.aborted);
  assert.ok(hung, 'the hanging attempt was given up by the sender (WEBHOOK_TIMEOUT)');
  assert.equal(receiver.requests[0]!.path, '/hook?token=a');
  assert.equal(receiver.requests[0]!.headers['content-type'], 'application/json');
  const body = JSON.parse(receiver.requests[0]!.rawBody) as Record<string, any>;
  assert.deepEqual(Object.keys(body), ['type', 'timestamp', 'data']);
  assert.equal(body.data.id, receiver.requests[0]!.headers['webhook-id']);

  const text = await metrics.registry.metrics();
  assert.match(text, /tfa_webhook_deliveries_total\{outcome="delivered"\} 24/);
  assert.match(text, /tfa_webhook_deliveries_total\{outcome="failed"\} 7/);
  assert.equal(await pendingCount(database), 0);
});

test('a forged or altered request fails the check a receiver makes', async () => {
  await fresh();
  const clock = new FixedClock(new Date());
  const [userId] = await users(1);
  const { loop } = testLoop(database, clock, { WEBHOOK_URLS: receiver.url });
  await writeEvents(database, clock, [{ type: 'tf.disabled', userId: userId! }]);
  await drain(database, clock, loop);
  const r = receiver.requests[0]!;
  const { Webhook } = await import('standardwebhooks');
  const headers = r.headers as Record<string, string>;
  assert.doesNotThrow(() => new Webhook(TEST_WEBHOOK_SECRET).verify(r.rawBody, headers));
  assert.throws(() => new Webhook(TEST_WEBHOOK_SECRET).verify(r.rawBody.replace('tf.disabled', 'tf.passed'), headers));
  const other = `whsec_${Buffer.from('another-key-0123456789abcdefghij').toString('base64')}`;
  assert.throws(() => new Webhook(other).verify(r.rawBody, headers));
});

test('nothing is lost while the receiver is down for a while; it gets everything once, in order, when it returns', async () => {
  await fresh();
  const clock = new FixedClock(new Date());
  const ids = await users(2);
  const { loop } = testLoop(database, clock, { WEBHOOK_URLS: receiver.url });
  await receiver.stop();
  await writeEvents(
    database,
    clock,
    Array.from({ length: 10 }, (_, n) => ({ type: 'signin.success' as const, userId: ids[n % 2]!, details: { n } })),
  );
  // Six hours of refused connections (backoff grows to its one-hour cap), then the receiver is back.
  const downUntil = clock.now().getTime() + 6 * 3600_000;
  await drain(database, clock, loop, {
    stepMs: 5 * 60_000,
    onIdle: async () => {
      if (clock.now().getTime() >= downUntil && !receiver.listening) await receiver.start();
    },
  });
  const accepted = receiver.accepted();
  assert.equal(accepted.length, 10);
  assert.equal(new Set(accepted.map((e) => e.id)).size, 10);
  for (const userId of ids)
    assert.deepEqual(
      accepted.filter((e) => e.userId === userId).map((e) => e.details.n),
      [0, 2, 4, 6, 8].map((n) => (userId === ids[0] ? n : n + 1)),
    );
  const attempts = await database.db
    .selectFrom('event_deliveries')
    .select('attempts')
    .where('target', 'like', 'webhook:%')
    .execute();
  assert.ok(
    attempts.every((a) => a.attempts >= 1),
    'every delivery was tried while down',
  );
  assert.ok(
    attempts.some((a) => a.attempts > 1),
    'and retried',
  );
});

test('a receiver that keeps failing is given up after WEBHOOK_GIVE_UP_AFTER (dead letter); the user’s next events still go out', async () => {
  await fresh();
  const clock = new FixedClock(new Date());
  const [userId] = await users(1);
  const { loop, metrics } = testLoop(database, clock, { WEBHOOK_URLS: receiver.url, WEBHOOK_GIVE_UP_AFTER: '2 hours' });
  await writeEvents(database, clock, [{ type: 'tf.disabled', userId: userId! }]);
  receiver.failNext(1000, 500);
  await fannedOut(database, loop);
  const started = clock.now().getTime();
  while (clock.now().getTime() - started < 2 * 3600_000 + 60_000) {
    await loop.tick();
    clock.advance(60_000);
  }
  const [row] = await database.db
    .selectFrom('event_deliveries')
    .selectAll()
    .where('target', 'like', 'webhook:%')
    .execute();
  assert.equal(row!.state, 'dead');
  assert.equal(row!.last_status, 500);
  // Backoff grew: far fewer attempts than one a minute over two hours.
  assert.ok(row!.attempts >= 5 && row!.attempts <= 16, `attempts: ${row!.attempts}`);
  assert.match(await metrics.registry.metrics(), /tfa_webhook_deliveries_total\{outcome="dead"\} 1/);

  receiver.reset();
  await writeEvents(database, clock, [{ type: 'tf.setup_changed', userId: userId!, details: { method: 'sms' } }]);
  await drain(database, clock, loop);
  assert.deepEqual(
    receiver.accepted().map((e) => e.type),
    ['tf.setup_changed'],
  );
});

test(
  'a leader whose connection is cut loses the lock: another instance takes over, and the first leads again once the lock is free',
  { skip: TEST_DATABASE_URL ? false : 'the advisory lock is a Postgres matter: set DATABASE_URL' },
  async () => {
    await fresh();
    const clock = new FixedClock(new Date());
    const [userId] = await users(1);
    const second = await openDatabase({
      databaseUrl: TEST_DATABASE_URL,
      dataDir: 'memory://',
      schema: database.schema,
    });
    try {
      const env = { WEBHOOK_URLS: receiver.url, SECURITY_NOTIFICATIONS: 'none' };
      const a = testLoop(database, clock, env, { leader: 'advisory' });
      const b = testLoop(second, clock, env, { leader: 'advisory' });
      const leads = async (m: typeof a.metrics) => /^tfa_event_delivery_leader 1$/m.test(await m.registry.metrics());
      await a.loop.tick();
      await b.loop.tick();
      assert.deepEqual([await leads(a.metrics), await leads(b.metrics)], [true, false]);

      // The leader's session ends (a failover, an idle-session killer, an operator): its lock goes with it.
      const { rows } = await sql<{ n: number }>`
        select count(pg_terminate_backend(pid))::int as n from pg_locks
        where locktype = 'advisory' and objsubid = 1 and granted
          and objid::bigint = (hashtext('tfa-service event delivery ' || current_schema())::bigint & 4294967295)`.execute(
        second.db,
      );
      assert.equal(rows[0]!.n, 1, 'the lock was held by exactly one session');
      await writeEvents(database, clock, [{ type: 'tf.disabled', userId: userId! }]);
      await drain(second, clock, b.loop);
      assert.equal(await leads(b.metrics), true, 'the other instance took the free lock');
      await a.loop.tick();
      assert.equal(await leads(a.metrics), false, 'the first noticed the loss and did not lead');
      assert.equal(receiver.accepted().length, 1);

      await b.loop.stop();
      await writeEvents(database, clock, [{ type: 'tf.lockout', userId: userId! }]);
      await drain(database, clock, a.loop);
      assert.equal(await leads(a.metrics), true, 'the lock taken again once free');
      assert.deepEqual(
        receiver.accepted().map((e) => e.type),
        ['tf.disabled', 'tf.lockout'],
      );
    } finally {
      await stopLoops();
      await second.close();
    }
  },
);

test('stop() takes no new work and waits for the attempt in flight, which ends at WEBHOOK_TIMEOUT and is retried later', async () => {
  await fresh();
  const clock = new FixedClock(new Date());
  const [userId] = await users(1);
  const { loop } = testLoop(database, clock, { WEBHOOK_URLS: receiver.url, SECURITY_NOTIFICATIONS: 'none' });
  receiver.hangNext(1);
  await writeEvents(database, clock, [{ type: 'tf.disabled', userId: userId! }]);
  loop.start();
  const began = Date.now();
  while (receiver.requests.length === 0) {
    assert.ok(Date.now() - began < 30_000, 'the running loop sent the event');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const stopping = Date.now();
  await loop.stop();
  const waited = Date.now() - stopping;
  assert.ok(waited >= 500 && waited < 5000, `stop waited for the hanging attempt (${waited} ms, timeout 1 s)`);
  const [row] = await database.db.selectFrom('event_deliveries').selectAll().execute();
  assert.equal(row!.state, 'pending', 'not given up, not marked delivered');
  assert.equal(row!.lease_until, null, 'its outcome was written: the next leader may retry at once when due');
  assert.equal(row!.attempts, 1);
  assert.equal(receiver.requests.length, 1, 'nothing new after stop');
});

test('delivered events are deleted after 7 days; a dead letter is kept for 30', async () => {
  await fresh();
  const clock = new FixedClock(new Date());
  const [ok, failing] = await users(2);
  const { loop } = testLoop(database, clock, {
    WEBHOOK_URLS: receiver.url,
    SECURITY_NOTIFICATIONS: 'none',
    WEBHOOK_GIVE_UP_AFTER: '60',
  });
  receiver.answerNext({ status: 204 }).failNext(100, 500);
  await writeEvents(database, clock, [{ type: 'tf.disabled', userId: ok! }]);
  await drain(database, clock, loop);
  await writeEvents(database, clock, [{ type: 'tf.disabled', userId: failing! }]);
  await drain(database, clock, loop, { stepMs: 30_000 });
  const states = async () =>
    (await database.db.selectFrom('event_deliveries').select('state').orderBy('id').execute()).map((r) => r.state);
  assert.deepEqual(await states(), ['delivered', 'dead']);
  clock.advance(8 * 86_400_000);
  await loop.tick();
  assert.deepEqual(await states(), ['dead'], 'the delivered event is gone after a week');
  clock.advance(23 * 86_400_000);
  await loop.tick();
  assert.deepEqual(await states(), [], 'the dead letter after 30 days');
});
