import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB, DeliveryState } from '../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

/** The target of the security e-mails; webhooks are `webhook:<url>`. */
export const EMAIL_TARGET = 'email';
export const webhookTarget = (url: string): string => `webhook:${url}`;
/** The URL of a `webhook:<url>` target. */
export const webhookUrlOf = (target: string): string => target.slice('webhook:'.length);

export interface FanOut {
  /** `webhook:<url>` for every configured URL. */
  webhookTargets: readonly string[];
  /** Event types that may get an e-mail (notices switched on); they need a user. */
  emailTypes: readonly string[];
  now: Date;
  limit: number;
}

/**
 * Moves outbox rows into one delivery row per target, in one statement. Only
 * rows whose transaction is older than every transaction still running
 * (`pg_snapshot_xmin`) are taken: no row can commit later with a smaller
 * (xid, id), so the order deliveries are made in never changes afterwards
 * (docs/architecture.md, Events out). Returns how many outbox rows were taken.
 */
export async function fanOut(db: Db, f: FanOut): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with batch as (
      select id, xid, user_id, type from event_outbox
      where not fanned_out and xid < pg_snapshot_xmin(pg_current_snapshot())
      order by xid, id limit ${f.limit}
      for update skip locked
    ), marked as (
      update event_outbox set fanned_out = true where id in (select id from batch) returning id
    ), queued as (
      insert into event_deliveries (outbox_id, target, user_id, xid, state, attempts, created_at, next_attempt_at)
      select b.id, t.target, b.user_id, b.xid, 'pending', 0, ${f.now}::timestamptz, ${f.now}::timestamptz
      from batch b cross join unnest(${[...f.webhookTargets]}::text[]) as t(target)
      union all
      select b.id, ${EMAIL_TARGET}, b.user_id, b.xid, 'pending', 0, ${f.now}::timestamptz, ${f.now}::timestamptz
      from batch b where b.user_id is not null and b.type = any(${[...f.emailTypes]}::text[])
      on conflict do nothing
      returning 1
    )
    select (select count(*) from marked)::int as n, (select count(*) from queued)::int as q`.execute(db);
  return rows[0]?.n ?? 0;
}

export interface DueDelivery {
  id: string;
  target: string;
  attempts: number;
  created_at: Date;
  event_id: string;
  type: string;
  user_id: number | null;
  at: Date;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

/**
 * Deliveries due now that are the oldest pending one of their (target, user):
 * a user's later event waits until the earlier one is delivered or given up,
 * so each target sees a user's events in order. Events without a user form one group.
 */
export async function dueHeads(db: Db, now: Date, limit: number): Promise<DueDelivery[]> {
  const { rows } = await sql<DueDelivery>`
    select d.id, d.target, d.attempts, d.created_at, o.event_id, o.type, o.user_id, o.at, o.ip, o.user_agent, o.details
    from event_deliveries d join event_outbox o on o.id = d.outbox_id
    where d.state = 'pending' and d.next_attempt_at <= ${now}::timestamptz
      and (d.lease_until is null or d.lease_until <= ${now}::timestamptz)
      and not exists (
        select from event_deliveries e
        where e.state = 'pending' and e.target = d.target and e.user_id is not distinct from d.user_id
          and (e.xid, e.outbox_id) < (d.xid, d.outbox_id)
      )
    order by d.xid, d.outbox_id
    limit ${limit}`.execute(db);
  return rows.map((r) => ({ ...r, attempts: Number(r.attempts), id: String(r.id) }));
}

/**
 * Takes one attempt: only one caller (of any instance) gets the row, and no
 * one else may start another attempt before `leaseUntil`, which outlasts the
 * attempt's own timeout. Consume-once: one statement decides.
 */
export async function claimDelivery(db: Db, id: string, claim: string, now: Date, leaseUntil: Date): Promise<boolean> {
  const row = await db
    .updateTable('event_deliveries')
    .set((eb) => ({ claim, lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export interface AttemptResult {
  state: DeliveryState;
  now: Date;
  nextAttemptAt?: Date;
  status?: number | null;
  error?: string | null;
}

/** Writes an attempt's outcome, only under the attempt's own claim (a lost lease writes nothing). */
export async function finishAttempt(db: Db, id: string, claim: string, r: AttemptResult): Promise<boolean> {
  const row = await db
    .updateTable('event_deliveries')
    .set({
      state: r.state,
      claim: null,
      lease_until: null,
      last_status: r.status ?? null,
      last_error: r.error?.slice(0, 200) ?? null,
      ...(r.nextAttemptAt ? { next_attempt_at: r.nextAttemptAt } : {}),
      ...(r.state === 'pending' ? {} : { finished_at: r.now }),
    })
    .where('id', '=', id)
    .where('claim', '=', claim)
    .where('state', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Pending deliveries by kind of target, for the metrics gauge. */
export async function countPending(db: Db): Promise<{ email: number; webhook: number }> {
  const { rows } = await sql<{ email: number; webhook: number }>`
    select count(*) filter (where target = ${EMAIL_TARGET})::int as email,
           count(*) filter (where target <> ${EMAIL_TARGET})::int as webhook
    from event_deliveries where state = 'pending'`.execute(db);
  return rows[0] ?? { email: 0, webhook: 0 };
}

/**
 * Deletes events whose deliveries are all finished: delivered or skipped ones
 * after `doneBefore`, given-up ones (the dead letters, kept for inspection)
 * after `deadBefore`. Deliveries go with their event (on delete cascade).
 */
export async function pruneOutbox(db: Db, doneBefore: Date, deadBefore: Date): Promise<void> {
  await sql`
    delete from event_outbox o
    where o.fanned_out and o.at < ${doneBefore}::timestamptz
      and not exists (
        select from event_deliveries d where d.outbox_id = o.id
          and (d.state = 'pending' or (d.state = 'dead' and o.at >= ${deadBefore}::timestamptz))
      )`.execute(db);
}

/** The advisory lock of the delivery leader: one per schema, so instance groups in other schemas have their own. */
export async function tryLeaderLock(db: Db): Promise<boolean> {
  const { rows } = await sql<{
    locked: boolean;
  }>`select pg_try_advisory_lock(hashtext('tfa-service event delivery ' || current_schema())) as locked`.execute(db);
  return rows[0]?.locked === true;
}

export async function releaseLeaderLock(db: Db): Promise<void> {
  await sql`select pg_advisory_unlock(hashtext('tfa-service event delivery ' || current_schema()))`.execute(db);
}

/** One round trip on the leader's connection: throws once that connection (and so the lock) is gone. */
export async function leaderAlive(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

/** The address a notice goes to; undefined when the user no longer exists. */
export async function userEmail(db: Db, userId: number): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
  return row?.email;
}

export interface DeadFilter {
  /** Security e-mails or webhooks (every URL); both when absent. */
  kind?: 'email' | 'webhook';
  /** Only those given up at or after this time. */
  since?: Date;
}

export interface DeadDelivery {
  id: string;
  target: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  finished_at: Date;
  event_id: string;
  type: string;
  user_id: number | null;
  at: Date;
}

/** The dead letters a filter names, on event_deliveries under `table` (its alias, or its name). */
function deadMatching(f: DeadFilter, table: string) {
  const column = (name: string): RawBuilder<unknown> => sql.ref(`${table}.${name}`);
  const kind =
    f.kind === 'email'
      ? sql`${column('target')} = ${EMAIL_TARGET}`
      : f.kind === 'webhook'
        ? sql`${column('target')} <> ${EMAIL_TARGET}`
        : sql`true`;
  const since = f.since ? sql`${column('finished_at')} >= ${f.since}::timestamptz` : sql`true`;
  return sql`${column('state')} = 'dead' and ${kind} and ${since}`;
}

/** Given-up deliveries (dead letters), by id after the cursor: what an operator inspects before retrying. */
export async function deadPage(db: Db, f: DeadFilter, after: string, limit: number): Promise<DeadDelivery[]> {
  const { rows } = await sql<DeadDelivery>`
    select d.id, d.target, d.attempts, d.last_status, d.last_error, d.created_at, d.finished_at,
           o.event_id, o.type, o.user_id, o.at
    from event_deliveries d join event_outbox o on o.id = d.outbox_id
    where ${deadMatching(f, 'd')} and d.id > ${after}::bigint
    order by d.id
    limit ${limit}`.execute(db);
  return rows.map((r) => ({ ...r, id: String(r.id), attempts: Number(r.attempts) }));
}

/**
 * Puts dead letters back in the queue, in one statement: pending, due now, no
 * attempts yet, and queued `now`, so WEBHOOK_GIVE_UP_AFTER runs again from the
 * retry. The event keeps its id (a receiver that got it after all dedupes by
 * `webhook-id`). Returns how many were requeued.
 */
export async function requeueDead(db: Db, f: DeadFilter, now: Date): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with requeued as (
      update event_deliveries set state = 'pending', attempts = 0, created_at = ${now}::timestamptz,
        next_attempt_at = ${now}::timestamptz, finished_at = null, claim = null, lease_until = null
      where ${deadMatching(f, 'event_deliveries')}
      returning 1
    )
    select count(*)::int as n from requeued`.execute(db);
  return rows[0]?.n ?? 0;
}
