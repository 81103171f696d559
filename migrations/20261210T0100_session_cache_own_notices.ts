import { sql, type Kysely } from 'kysely';

// A change's notice to the connection that made it, without waking every
// listener (docs/architecture.md, Session cache). The triggers of
// 20261208T0100_session_cache_notices.ts now call session_cache_notify instead
// of pg_notify: it still NOTIFYs (for the other instances' listeners), and on a
// connection that asked for it (the service's pool sets tfa.own_notices=on when
// it connects, src/db/change-feed.ts) it also sends the payload back to that
// connection alone as a NOTICE with SQLSTATE TFA01, which the service applies
// once the transaction is over (src/db/change-feed.ts). So the pool's
// connections need not LISTEN: Postgres wakes every listener of a database on
// every NOTIFY, and with the pool listening that was eleven per instance.
//
// The three trigger functions are rewritten from their own definitions (one
// call's name changes), so their bodies are written once, in the earlier migration.
const TRIGGER_FUNCTIONS = ['session_cache_sessions_changed', 'session_cache_user_changed', 'session_cache_all_changed'];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function session_cache_notify(channel text, payload text) returns void language plpgsql as $$
    begin
      perform pg_notify(channel, payload);
      if current_setting('tfa.own_notices', true) = 'on' then
        raise notice using message = payload, errcode = 'TFA01';
      end if;
    end $$`.execute(db);
  await rewrite(db, 'pg_notify(', 'session_cache_notify(');
}

export async function down(db: Kysely<any>): Promise<void> {
  await rewrite(db, 'session_cache_notify(', 'pg_notify(');
  await sql`drop function session_cache_notify(text, text)`.execute(db);
}

async function rewrite(db: Kysely<any>, from: string, to: string): Promise<void> {
  for (const name of TRIGGER_FUNCTIONS) {
    const { rows } = await sql<{ def: string }>`select pg_get_functiondef(to_regproc(${name})) as def`.execute(db);
    const def = rows[0]?.def;
    if (!def?.includes(from)) throw new Error(`${name}: expected a call of ${from.slice(0, -1)} in its definition`);
    await sql.raw(def.replaceAll(from, to)).execute(db);
  }
}
