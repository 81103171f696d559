/**
 * Only the audit types a target may want get an outbox row
 * (migrations/20261211T0100_outbox_types.ts; docs/architecture.md, Events out).
 *
 * Threats: an event that a webhook or a notice wants is left out of the outbox
 * and never sent; one pool connection without the setting, so whether an event
 * is sent depends on which connection wrote it; a type that matches another's
 * prefix; a connection that sets nothing (the command line on its own) losing
 * events.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAuditor, type AuditType } from '../../src/audit/audit.js';
import { FixedClock } from '../../src/clock.js';
import type { Database } from '../../src/db/database.js';
import { EMAIL_TARGET, fanOut } from '../../src/events/events.repository.js';
import { notifyingTypes, NOTICES } from '../../src/events/notices.js';
import { eventsSettings, outboxTypes } from '../../src/events/settings.js';
import { createUser, uniqueEmail } from '../helpers/app.js';
import { createTestDatabase, DB_KIND } from '../helpers/db.js';
import { fannedOut } from '../helpers/events.js';
import { captureLogger } from '../helpers/log-capture.js';

const ctx = { ip: '203.0.113.9', userAgent: 'test' };
const TYPES: AuditType[] = ['tf.failed', 'signin.success', 'tf.lockout', 'signout'];

/** Writes each type `times` times at once (so on several pool connections), and returns the outbox's types. */
async function outboxAfterWriting(database: Database, times = 1): Promise<string[]> {
  const audit = createAuditor(new FixedClock(), captureLogger().logger);
  const user = await createUser(database, uniqueEmail('outbox'), 'password-123');
  const writes = TYPES.flatMap((type) =>
    Array.from({ length: times }, () => audit.record(database.db, type, user.id, ctx)),
  );
  await Promise.all(writes);
  const audited = await database.db.selectFrom('audit_events').select('type').where('user_id', '=', user.id).execute();
  assert.equal(audited.length, TYPES.length * times, 'every audit row is written, whatever the outbox takes');
  const rows = await database.db.selectFrom('event_outbox').select('type').where('user_id', '=', user.id).execute();
  return rows.map((r) => r.type).sort();
}

const sorted = (types: string[], times = 1): string[] => types.flatMap((t) => Array(times).fill(t) as string[]).sort();

test(`outboxTypes: every type with a webhook, else the types of the notices switched on (${DB_KIND})`, () => {
  const settings = (urls: string[], notices: readonly string[]) =>
    eventsSettings({
      WEBHOOK_URLS: urls,
      WEBHOOK_SECRET: undefined,
      WEBHOOK_TIMEOUT: 5,
      WEBHOOK_GIVE_UP_AFTER: 60,
      SECURITY_NOTIFICATIONS: notices as never,
    });
  assert.equal(outboxTypes(settings(['https://hooks.example/a'], ['none'])), '*');
  const noticesOnly = outboxTypes(settings([], NOTICES));
  assert.deepEqual(noticesOnly, notifyingTypes(new Set(NOTICES)));
  assert.ok(Array.isArray(noticesOnly) && noticesOnly.includes('tf.lockout') && !noticesOnly.includes('tf.failed'));
  assert.deepEqual(outboxTypes(settings([], ['none'])), []);
});

test(`only the listed types reach the outbox, on every pool connection (${DB_KIND})`, async () => {
  const database = await createTestDatabase({ outboxTypes: ['tf.lockout', 'user.reset_2fa'] });
  try {
    // 12 of each at once: the pool opens several connections, and each must carry the setting.
    assert.deepEqual(await outboxAfterWriting(database, 12), sorted(['tf.lockout'], 12));
    // The notice of the event that got its row is still made. On Postgres a row is fanned out only
    // once every older transaction of the server has ended, and other test files share the server.
    await fannedOut(database, {
      tick: () => fanOut(database.db, { webhookTargets: [], emailTypes: ['tf.lockout'], now: new Date(), limit: 100 }),
    });
    const queued = await database.db.selectFrom('event_deliveries').select('target').execute();
    assert.equal(queued.filter((d) => d.target === EMAIL_TARGET).length, 12);
  } finally {
    await database.close();
  }
});

test(`a listed type does not let in another that it is a prefix of (${DB_KIND})`, async () => {
  const database = await createTestDatabase({ outboxTypes: ['tf.lock', 'signin'] });
  try {
    assert.deepEqual(await outboxAfterWriting(database), []);
  } finally {
    await database.close();
  }
});

test(`'*' and an unset setting keep every row; an empty list keeps none (${DB_KIND})`, async () => {
  for (const [options, expected] of [
    [{ outboxTypes: '*' as const }, sorted(TYPES)],
    [{}, sorted(TYPES)],
    [{ outboxTypes: [] }, []],
  ] as const) {
    const database = await createTestDatabase(options);
    try {
      assert.deepEqual(await outboxAfterWriting(database), expected, JSON.stringify(options));
    } finally {
      await database.close();
    }
  }
});
