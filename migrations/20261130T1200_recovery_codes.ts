import type { Kysely } from 'kysely';

// Rescue (openapi.yaml, /tf-rescue and /mf-recovery): the recovery codes, and the
// per-user cooldown of help-desk notices.
export async function up(db: Kysely<any>): Promise<void> {
  // Only a keyed hash of the canonical form (12 lowercase hex) is stored (docs/architecture.md, Secrets at rest).
  // A used code keeps its row with used_at set, so the audit can tell when;
  // generating new codes deletes every row of the user.
  await db.schema
    .createTable('tf_recovery_codes')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // Serves the single-statement consume (user_id, code_hash) and the per-user count and delete.
  await db.schema
    .createIndex('tf_recovery_codes_user_hash')
    .on('tf_recovery_codes')
    .columns(['user_id', 'code_hash'])
    .unique()
    .execute();

  // One row per user: when the help desk was last mailed on their behalf.
  await db.schema
    .createTable('tf_help_requests')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['tf_help_requests', 'tf_recovery_codes']) await db.schema.dropTable(t).execute();
}
