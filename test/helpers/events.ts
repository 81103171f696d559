/**
 * Drives the delivery loop of src/events/ in a test process: a loop over a
 * test database with a fixed clock, and `drain`, which runs rounds and moves
 * the clock past each backoff instead of sleeping.
 */
import type { Logger } from 'pino';
import { createAuditor, type AuditType } from '../../src/audit/audit.js';
import type { FixedClock } from '../../src/clock.js';
import type { Database } from '../../src/db/database.js';
import { createDeliveryLoop, type DeliveryLoop } from '../../src/events/delivery.js';
import { advisoryLeadership, soleLeader } from '../../src/events/leader.js';
import { eventsSettings } from '../../src/events/settings.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { sendersConfig } from '../../src/senders/from-config.js';
import { createSenders } from '../../src/senders/registry.js';
import type { Senders } from '../../src/senders/types.js';
import { testConfig } from './app.js';
import { captureLogger } from './log-capture.js';
import { RecordingSenders } from './senders.js';
import { TEST_WEBHOOK_SECRET } from './webhook-receiver.js';

export interface TestLoop {
  loop: DeliveryLoop;
  metrics: Metrics;
  senders: Senders;
  logger: Logger;
}

const live = new Set<DeliveryLoop>();

/** Stops every loop made by testLoop (each holds the leader lock on Postgres until stopped). */
export async function stopLoops(): Promise<void> {
  const loops = [...live];
  live.clear();
  await Promise.all(loops.map((l) => l.stop()));
}

export function testLoop(
  database: Database,
  clock: FixedClock,
  env: Record<string, string>,
  opts: { senders?: Senders | 'configured'; leader?: 'advisory' | 'sole' } = {},
): TestLoop {
  const config = testConfig({ WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_TIMEOUT: '1', ...env });
  const metrics = createMetrics(database);
  const { logger } = captureLogger();
  // 'configured': the senders the service would build (the real SendGrid client, pointed at a fake).
  const senders =
    opts.senders === 'configured'
      ? createSenders(sendersConfig(config), { logger, clock })
      : (opts.senders ?? new RecordingSenders());
  const advisory = (opts.leader ?? (database.kind === 'postgres' ? 'advisory' : 'sole')) === 'advisory';
  const loop = createDeliveryLoop({
    db: database.db,
    leadership: advisory ? advisoryLeadership(database.db, logger) : soleLeader,
    settings: eventsSettings(config),
    senders,
    clock,
    log: logger,
    metrics,
    random: () => 0.5,
  });
  live.add(loop);
  return { loop, metrics, senders, logger };
}

/** Deliveries not finished yet. */
export async function pendingCount(database: Database): Promise<number> {
  const row = await database.db
    .selectFrom('event_deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Outbox rows not yet fanned out (on Postgres they wait until every older transaction of the server has ended). */
export async function waitingCount(database: Database): Promise<number> {
  const row = await database.db
    .selectFrom('event_outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('fanned_out', '=', false)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Ticks in real time until every written event is fanned out to its deliveries.
 * A delivery's give-up time runs from its fan-out, and an event is fanned out only
 * once every older transaction on the server has ended: another test file's
 * migration (Postgres is shared) can hold it back for a second or two. A test that
 * then runs the clock through WEBHOOK_GIVE_UP_AFTER must start counting after this.
 */
export async function fannedOut(database: Database, loop: Pick<DeliveryLoop, 'tick'>, maxMs = 30_000): Promise<void> {
  const until = performance.now() + maxMs;
  for (;;) {
    await loop.tick();
    if ((await waitingCount(database)) === 0) return;
    if (performance.now() > until) throw new Error(`events still waiting for their fan-out after ${maxMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Rounds until nothing is pending: when a round finds nothing due, the clock
 * moves `stepMs` on (past a backoff). `onIdle` may change the world between rounds.
 */
export async function drain(
  database: Database,
  clock: FixedClock,
  loop: DeliveryLoop,
  {
    stepMs = 15_000,
    maxRounds = 2000,
    onIdle,
  }: { stepMs?: number; maxRounds?: number; onIdle?: () => Promise<void> } = {},
): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    if ((await loop.tick()) > 0) continue;
    if ((await waitingCount(database)) > 0) {
      // Another session's transaction (other test files share the server) holds the horizon back: real time, not ours.
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if ((await pendingCount(database)) === 0) return;
    await onIdle?.();
    clock.advance(stepMs);
  }
  throw new Error(`still ${await pendingCount(database)} deliveries pending after ${maxRounds} rounds`);
}

/** Writes audit events the way the services do (audit.ts), each in its own transaction. */
export async function writeEvents(
  database: Database,
  clock: FixedClock,
  events: Array<{ type: AuditType; userId: number | null; details?: Record<string, unknown> }>,
): Promise<void> {
  const audit = createAuditor(clock, captureLogger().logger);
  for (const e of events) {
    await audit.record(database.db, e.type, e.userId, { ip: '127.0.0.1', userAgent: 'test' }, e.details ?? {});
  }
}
