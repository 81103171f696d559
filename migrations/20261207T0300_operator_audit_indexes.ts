import type { Kysely } from 'kysely';

// The operator API's audit trail (README, "Operator API") pages by id, filtered
// by user or by event type: these keep a page an index range scan however
// long the trail grows (audit_events_user_at serves the time filters).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('audit_events_user_id').on('audit_events').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('audit_events_type_id').on('audit_events').columns(['type', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['audit_events_type_id', 'audit_events_user_id']) await db.schema.dropIndex(index).execute();
}
