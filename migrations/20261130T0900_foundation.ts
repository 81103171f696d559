import { sql, type Kysely } from 'kysely';

// Users, roles, sessions and the audit trail (docs/architecture.md, Sessions and Audit). Two-factor columns
// live on users as in Flask-Security's model; later features add their own tables.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('email', 'varchar(255)', (c) => c.notNull())
    .addColumn('email_normalized', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('password', 'varchar(255)', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('fs_uniquifier', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('tf_primary_method', 'varchar(64)')
    .addColumn('tf_totp_secret', 'varchar(255)')
    .addColumn('tf_phone_number', 'varchar(128)')
    .addColumn('tf_totp_last_step', 'integer')
    .addColumn('tf_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tf_locked_until', 'timestamptz')
    .addColumn('tf_lockouts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('roles')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'varchar(80)', (c) => c.notNull().unique())
    .addColumn('description', 'varchar(255)')
    .execute();

  await db.schema
    .createTable('roles_users')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('roles_users_pk', ['user_id', 'role_id'])
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_user_at').on('audit_events').columns(['user_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['audit_events', 'sessions', 'roles_users', 'roles', 'users']) {
    await db.schema.dropTable(t).execute();
  }
}
