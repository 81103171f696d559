import type { Kysely } from 'kysely';

// Security keys and passkeys as a second factor (README "Security keys", docs/architecture.md
// "Factors"): the registered credentials, the ceremonies' challenges, and the user handle the
// authenticators store (a random id of the user, never the e-mail or the row id).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webauthn_user_handles')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('handle', 'varchar(64)', (c) => c.notNull().unique())
    .execute();

  // One row per key: the public key (COSE, base64url) and the signature counter the
  // assertions are checked against. Names are unique per user, ids across the service.
  await db.schema
    .createTable('webauthn_credentials')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('credential_id', 'varchar(1400)', (c) => c.notNull().unique())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('sign_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('backup_eligible', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('backup_state', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('device_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('usage', 'varchar(16)', (c) => c.notNull())
    .addColumn('discoverable', 'boolean')
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addUniqueConstraint('webauthn_credentials_user_name', ['user_id', 'name'])
    .execute();

  // A ceremony's challenge, named by the client's wan_state (only its keyed hash is kept):
  // bound to the user, and for a sign-in to its pending row; used once (used_at).
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('pending_id', 'varchar(64)', (c) => c.references('tf_pending.id').onDelete('cascade'))
    .addColumn('challenge', 'varchar(128)', (c) => c.notNull())
    .addColumn('name', 'varchar(64)')
    .addColumn('usage', 'varchar(16)')
    .addColumn('user_verification', 'boolean', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('webauthn_challenges_expires').on('webauthn_challenges').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webauthn_challenges').execute();
  await db.schema.dropTable('webauthn_credentials').execute();
  await db.schema.dropTable('webauthn_user_handles').execute();
}
