import type { Kysely } from 'kysely';

// Two-factor state (docs/architecture.md, The pending sign-in): pending sign-ins and setups, the code sends
// that the flood limits count, and remembered devices.
export async function up(db: Kysely<any>): Promise<void> {
  // A pending sign-in (kind 'signin', anonymous session) or a signed-in user's
  // pending change (kind 'change'). Deleting the row voids it. The one-time
  // code slot holds only a keyed hash, bound to this row and its destination.
  await db.schema
    .createTable('tf_pending')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('fs_uniquifier', 'varchar(64)', (c) => c.notNull())
    .addColumn('remember', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('setup_method', 'varchar(32)')
    .addColumn('setup_secret', 'varchar(255)')
    .addColumn('setup_phone', 'varchar(32)')
    .addColumn('code_hash', 'varchar(64)')
    .addColumn('code_purpose', 'varchar(16)')
    .addColumn('code_destination', 'varchar(320)')
    .addColumn('code_expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tf_pending_user').on('tf_pending').column('user_id').execute();
  await db.schema.createIndex('tf_pending_expires').on('tf_pending').column('expires_at').execute();

  await db.schema
    .createTable('tf_code_sends')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('destination', 'varchar(320)', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tf_code_sends_user').on('tf_code_sends').columns(['user_id', 'sent_at']).execute();
  await db.schema
    .createIndex('tf_code_sends_destination')
    .on('tf_code_sends')
    .columns(['destination', 'sent_at'])
    .execute();

  await db.schema
    .createTable('tf_devices')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('fs_uniquifier', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tf_devices_user').on('tf_devices').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['tf_devices', 'tf_code_sends', 'tf_pending']) await db.schema.dropTable(t).execute();
}
