import { sql, type Kysely } from 'kysely';

// SMS cost limits (README "Abuse resistance", SMS pumping): every SMS the
// service sends, service-wide, so the hourly and daily budgets and the per-IP
// limit hold across instances. The IP is a keyed hash (as in the password throttle).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sms_sends')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip_hash', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sms_sends_sent_at').on('sms_sends').column('sent_at').execute();
  await db.schema.createIndex('sms_sends_ip').on('sms_sends').columns(['ip_hash', 'sent_at']).execute();
  // One row that every reservation locks (SELECT … FOR UPDATE): the count and the
  // insert of concurrent sends, on any instance, happen one after the other.
  await db.schema
    .createTable('sms_budget_lock')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .execute();
  await sql`insert into sms_budget_lock (id) values (1)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['sms_budget_lock', 'sms_sends']) await db.schema.dropTable(t).execute();
}
