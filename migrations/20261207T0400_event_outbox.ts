import { sql, type Kysely } from 'kysely';

// Events out (docs/architecture.md, Events out): every audit row is copied into
// event_outbox by a trigger, so it is written in the same transaction as the
// change it records, whoever wrote it (audit.ts, a repository's CTE, the CLI).
// The delivery loop fans each outbox row out into one event_deliveries row per
// target (a webhook URL, or the user's e-mail) and works those off.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('event_outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    // The webhook-id: stable across retries and URLs, unique across databases.
    .addColumn('event_id', 'uuid', (c) => c.notNull().unique())
    .addColumn('audit_id', 'bigint', (c) => c.notNull())
    // The writing transaction: events are delivered in (xid, id) order once every
    // older transaction has ended, so a later-committing earlier id is never overtaken.
    .addColumn('xid', sql`xid8`, (c) => c.notNull())
    .addColumn('user_id', 'integer')
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('fanned_out', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`create index event_outbox_waiting on event_outbox (xid, id) where not fanned_out`.execute(db);
  await db.schema.createIndex('event_outbox_at').on('event_outbox').column('at').execute();

  await db.schema
    .createTable('event_deliveries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('outbox_id', 'bigint', (c) => c.notNull().references('event_outbox.id').onDelete('cascade'))
    // 'email', or 'webhook:<url>'.
    .addColumn('target', 'varchar(2100)', (c) => c.notNull())
    .addColumn('user_id', 'integer')
    .addColumn('xid', sql`xid8`, (c) => c.notNull())
    // pending → delivered | dead (gave up) | skipped (nothing to send: notice off, user gone).
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    // An attempt in flight: its claim token and how long no one else may start one.
    .addColumn('claim', 'varchar(36)')
    .addColumn('lease_until', 'timestamptz')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'varchar(200)')
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('event_deliveries_once', ['outbox_id', 'target'])
    .execute();
  await sql`create index event_deliveries_pending on event_deliveries (target, user_id, xid, outbox_id) where state = 'pending'`.execute(
    db,
  );
  await sql`create index event_deliveries_due on event_deliveries (next_attempt_at) where state = 'pending'`.execute(
    db,
  );

  await sql`
    create function event_outbox_from_audit() returns trigger language plpgsql as $$
    begin
      insert into event_outbox (event_id, audit_id, xid, user_id, type, at, ip, user_agent, details)
      values (gen_random_uuid(), new.id, pg_current_xact_id(), new.user_id, new.type, new.at, new.ip, new.user_agent, new.details);
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger audit_events_outbox after insert on audit_events
    for each row execute function event_outbox_from_audit()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_events_outbox on audit_events`.execute(db);
  await sql`drop function event_outbox_from_audit()`.execute(db);
  for (const t of ['event_deliveries', 'event_outbox']) await db.schema.dropTable(t).execute();
}
