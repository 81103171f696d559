import { type Kysely } from 'kysely';

// Password-guessing throttle (docs/architecture.md, Budgets): one row per (account, IP) pair and one
// per IP, keyed by an HMAC so the table holds neither e-mail addresses (including
// ones that have no account) nor client addresses in clear.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('password_throttle')
    .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('scope', 'varchar(8)', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('blocked_until', 'timestamptz')
    .addColumn('forget_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('password_throttle_forget_at').on('password_throttle').column('forget_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('password_throttle').execute();
}
