import { sql, type Kysely } from 'kysely';

/**
 * The outbox trigger copies an audit row only when a target may want its type
 * (docs/architecture.md, Events out): the writing connection names the types in
 * its setting `tfa.outbox_types`, `*` for every type or `,type,type,` for those
 * listed (db/database.ts; the service derives it from WEBHOOK_URLS and
 * SECURITY_NOTIFICATIONS). A connection that sets nothing (the command line on
 * its own, an instance from before this migration) copies every row, as before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function event_outbox_from_audit() returns trigger language plpgsql as $$
    declare
      wanted text := coalesce(current_setting('tfa.outbox_types', true), '');
    begin
      if wanted not in ('', '*') and position(',' || new.type || ',' in wanted) = 0 then
        return null;
      end if;
      insert into event_outbox (event_id, audit_id, xid, user_id, type, at, ip, user_agent, details)
      values (gen_random_uuid(), new.id, pg_current_xact_id(), new.user_id, new.type, new.at, new.ip, new.user_agent, new.details);
      return null;
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function event_outbox_from_audit() returns trigger language plpgsql as $$
    begin
      insert into event_outbox (event_id, audit_id, xid, user_id, type, at, ip, user_agent, details)
      values (gen_random_uuid(), new.id, pg_current_xact_id(), new.user_id, new.type, new.at, new.ip, new.user_agent, new.details);
      return null;
    end
    $$`.execute(db);
}
