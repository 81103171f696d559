import { sql, type Kysely } from 'kysely';

// Change notices for the in-process session cache (docs/architecture.md, Session
// cache): whatever changes what a session lookup returns NOTIFYs the channel
// 'tfa_cache_<schema>' (src/db/change-feed.ts) in the same transaction, so every
// instance hears of it when it commits, whoever wrote it. Payloads:
//   s:<id_hash>,...   session rows updated or deleted (up to 100 per notice)
//   u:<user id>       a user's sign-in relevant columns or roles changed
//   *                 anything wider (a mass delete, a renamed role, TRUNCATE)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function session_cache_sessions_changed() returns trigger language plpgsql as $$
    declare
      n integer;
      ids text;
    begin
      select count(*), string_agg(id_hash, ',') into n, ids from old_rows;
      if n > 0 then
        perform pg_notify('tfa_cache_' || left(TG_TABLE_SCHEMA, 50), case when n > 100 then '*' else 's:' || ids end);
      end if;
      return null;
    end $$`.execute(db);
  for (const op of ['update', 'delete']) {
    await sql
      .raw(
        `create trigger sessions_cache_${op} after ${op} on sessions referencing old table as old_rows
         for each statement execute function session_cache_sessions_changed()`,
      )
      .execute(db);
  }

  // A user's row: OLD is set on UPDATE and DELETE. roles_users: INSERT has only NEW.
  await sql`
    create function session_cache_user_changed() returns trigger language plpgsql as $$
    declare
      channel text := 'tfa_cache_' || left(TG_TABLE_SCHEMA, 50);
    begin
      if TG_TABLE_NAME = 'users' then
        perform pg_notify(channel, 'u:' || old.id);
      elsif TG_OP = 'INSERT' then
        perform pg_notify(channel, 'u:' || new.user_id);
      elsif TG_OP = 'DELETE' then
        perform pg_notify(channel, 'u:' || old.user_id);
      else
        perform pg_notify(channel, 'u:' || old.user_id);
        perform pg_notify(channel, 'u:' || new.user_id);
      end if;
      return null;
    end $$`.execute(db);
  // Only the columns a session lookup reads (src/db/session-store.ts): a wrong code's
  // charge of tf_failures, the hottest write, sends nothing.
  await sql`
    create trigger users_cache_update after update on users for each row
    when (old.email is distinct from new.email or old.fs_uniquifier is distinct from new.fs_uniquifier
       or old.active is distinct from new.active or old.tf_primary_method is distinct from new.tf_primary_method
       or old.tf_required is distinct from new.tf_required
       or old.tf_grace_started_at is distinct from new.tf_grace_started_at)
    execute function session_cache_user_changed()`.execute(db);
  await sql`create trigger users_cache_delete after delete on users for each row
    execute function session_cache_user_changed()`.execute(db);
  await sql`create trigger roles_users_cache after insert or update or delete on roles_users for each row
    execute function session_cache_user_changed()`.execute(db);

  await sql`
    create function session_cache_all_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('tfa_cache_' || left(TG_TABLE_SCHEMA, 50), '*');
      return null;
    end $$`.execute(db);
  await sql`create trigger roles_cache after update or delete on roles for each statement
    execute function session_cache_all_changed()`.execute(db);
  await sql`create trigger sessions_cache_truncate after truncate on sessions for each statement
    execute function session_cache_all_changed()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [trigger, table] of [
    ['sessions_cache_update', 'sessions'],
    ['sessions_cache_delete', 'sessions'],
    ['sessions_cache_truncate', 'sessions'],
    ['users_cache_update', 'users'],
    ['users_cache_delete', 'users'],
    ['roles_users_cache', 'roles_users'],
    ['roles_cache', 'roles'],
  ]) {
    await sql.raw(`drop trigger ${trigger} on ${table}`).execute(db);
  }
  for (const fn of ['session_cache_sessions_changed', 'session_cache_user_changed', 'session_cache_all_changed']) {
    await sql.raw(`drop function ${fn}()`).execute(db);
  }
}
