/**
 * Webhook delivery by the real service process (README, "Webhooks").
 *
 * Failures: the service dies between writing an event and delivering it
 * (SIGKILL, no clean stop); two instances on one Postgres both deliver the
 * same event, or one instance's stop loses events the other should take over.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../../src/db/database.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { createServiceDatabase, startService, type ServiceDatabase } from '../helpers/service-process.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver, type ReceivedEvent } from '../helpers/webhook-receiver.js';

const until = async (what: string, check: () => boolean, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

async function register(url: string, email: string): Promise<void> {
  const res = await fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a long password' }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function signIn(url: string, email: string, password: string): Promise<void> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  await res.arrayBuffer();
}

/** The outbox as the database holds it: event id and user, in delivery order. */
async function outbox(db: ServiceDatabase): Promise<Array<{ event_id: string; user_id: number | null }>> {
  const database = await openDatabase({ databaseUrl: db.databaseUrl, dataDir: db.dataDir });
  try {
    return await database.db
      .selectFrom('event_outbox')
      .select(['event_id', 'user_id'])
      .orderBy('xid')
      .orderBy('id')
      .execute();
  } finally {
    await database.close();
  }
}

function assertOncePerEventInOrder(
  accepted: ReceivedEvent[],
  events: Array<{ event_id: string; user_id: number | null }>,
): void {
  const count = new Map<string, number>();
  for (const e of accepted) count.set(e.id, (count.get(e.id) ?? 0) + 1);
  assert.deepEqual(
    events.filter((e) => count.get(e.event_id) !== 1).map((e) => [e.event_id, count.get(e.event_id) ?? 0]),
    [],
    'every event accepted exactly once',
  );
  assert.equal(accepted.length, events.length, 'and nothing else');
  for (const userId of new Set(events.map((e) => e.user_id))) {
    assert.deepEqual(
      accepted.filter((e) => e.userId === userId).map((e) => e.id),
      events.filter((e) => e.user_id === userId).map((e) => e.event_id),
      `user ${userId}'s events in order`,
    );
  }
}

test('a service killed between writing events and delivering them delivers each once after its restart', async () => {
  const db = await createServiceDatabase();
  const receiver = await WebhookReceiver.start();
  const env = {
    ...db.env,
    WEBHOOK_URLS: `${receiver.url}/events`,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    SECURITY_REGISTERABLE: 'true',
  };
  try {
    receiver.failNext(100_000, 503);
    const first = await startService(env);
    const emails = [1, 2, 3].map((i) => `restart${i}.${process.pid}@example.com`);
    for (const email of emails) {
      await register(first.url, email);
      await signIn(first.url, email, 'a long password');
      await signIn(first.url, email, 'a wrong password');
    }
    // The loop has tried (and been refused); then the process dies without a clean stop.
    await until('a refused attempt', () => receiver.requests.some((r) => r.answeredStatus === 503));
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.kill('SIGKILL');
    await first.exited;
    assert.equal(receiver.accepted().length, 0, 'nothing was delivered before the kill');

    receiver.reset();
    const second = await startService(env);
    // 3 users × (register, sign-in, failed sign-in) = 9 events at least.
    await until('the events after the restart', () => receiver.accepted().length >= 9);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    second.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'a clean stop with the delivery loop running');
    receiver.verifyAll();
    assertOncePerEventInOrder(receiver.accepted(), await outbox(db));
  } finally {
    await receiver.stop();
    await db.drop();
  }
});

test(
  'two instances on one Postgres never deliver the same event twice, and the other takes over when the leader stops',
  { skip: TEST_DATABASE_URL ? false : 'two instances share a database only on Postgres: set DATABASE_URL' },
  async () => {
    const db = await createServiceDatabase();
    const receiver = await WebhookReceiver.start();
    const env = {
      ...db.env,
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      SECURITY_REGISTERABLE: 'true',
    };
    const leads = (l: Record<string, any>) => l.msg === 'event delivery: this instance leads';
    try {
      const [a, b] = [await startService(env), await startService(env)];
      await until('a leader', () => a.logs().some(leads) || b.logs().some(leads));
      const [leader, follower] = a.logs().some(leads) ? [a, b] : [b, a];
      assert.ok(!follower.logs().some(leads), 'only one instance leads');
      // A burst on both instances at once.
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => register(i % 2 ? a.url : b.url, `burst${i}.${process.pid}@example.com`)),
      );
      await until('the burst delivered', () => receiver.accepted().length >= 30);
      // The leader stops cleanly; events written now are the follower's to deliver.
      leader.kill('SIGTERM');
      assert.equal(await leader.exited, 0);
      for (let i = 0; i < 5; i++) await register(follower.url, `after${i}.${process.pid}@example.com`);
      await until('the follower to lead', () => follower.logs().some(leads));
      await until('the events after the take-over', () => receiver.accepted().length >= 35);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      follower.kill('SIGTERM');
      assert.equal(await follower.exited, 0);
      receiver.verifyAll();
      const ids = receiver.requests.map((r) => r.headers['webhook-id']);
      assert.equal(new Set(ids).size, ids.length, 'no event was even sent twice');
      assertOncePerEventInOrder(receiver.accepted(), await outbox(db));
    } finally {
      await receiver.stop();
      await db.drop();
    }
  },
);
