import { sql, type Kysely } from 'kysely';

// Revocable auth tokens, refresh tokens and the per-user two-factor policy
// (docs/backend-services.md; README "Tokens" and "Two-factor policy").
// auth_tokens: one row per issued Authentication-Token, bound to the sign-in
// that issued it, so signing out revokes it on every instance at once.
// refresh_tokens: Flask-Security 5.9's refresh tracker (family, generation).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('tf_required', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema.alterTable('users').addColumn('tf_grace_started_at', 'timestamptz').execute();

  await db.schema
    .createTable('auth_tokens')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('signin_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('auth_tokens_signin').on('auth_tokens').column('signin_id').execute();
  await db.schema.createIndex('auth_tokens_expires_at').on('auth_tokens').column('expires_at').execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('family', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('signin_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('gen', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('auth_at', 'timestamptz', (c) => c.notNull())
    .addColumn('tf_at', 'timestamptz')
    .addColumn('authn_methods', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('refresh_tokens_signin').on('refresh_tokens').column('signin_id').execute();
  await db.schema.createIndex('refresh_tokens_expires_at').on('refresh_tokens').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('refresh_tokens').execute();
  await db.schema.dropTable('auth_tokens').execute();
  await db.schema.alterTable('users').dropColumn('tf_grace_started_at').execute();
  await db.schema.alterTable('users').dropColumn('tf_required').execute();
}
