import { sql, type Kysely } from 'kysely';

/**
 * charge_guesses and refuse_guesses (migrations 20261209T0100 and T0200) first
 * lock the round's rows with `id in (select … from jsonb_array_elements(reqs))`.
 * Postgres estimates 100 elements for that set function, whatever the round
 * holds, so on a table of a few thousand users it hashed the set and scanned the
 * whole table: 0.5-0.7 ms and 140-220 pages per call (BENCHMARKS.md,
 * "Planning"). `id = any(array(select …))` hands the planner the ids as one
 * array, so the rows are found by their primary key whatever the table's size,
 * and in key order, as the locks must be taken. Only these clauses change.
 */
const REWRITES: Array<{ fn: string; from: string; to: string }> = [
  {
    fn: 'charge_guesses',
    from: `perform 1 from tf_pending t
        where t.id in (select x->>'id' from jsonb_array_elements(reqs) x)
        order by t.id for update;`,
    to: `perform 1 from tf_pending t
        where t.id = any(array(select x->>'id' from jsonb_array_elements(reqs) x))
        order by t.id for update;`,
  },
  {
    fn: 'charge_guesses',
    from: `where w.id in (
          select t.user_id from tf_pending t where t.id in (select x->>'id' from jsonb_array_elements(reqs) x))`,
    to: `where w.id = any(array(
          select t.user_id from tf_pending t where t.id = any(array(select x->>'id' from jsonb_array_elements(reqs) x))))`,
  },
  {
    fn: 'refuse_guesses',
    from: `where w.id in (select (x->>'user_id')::integer from jsonb_array_elements(reqs) x)`,
    to: `where w.id = any(array(select (x->>'user_id')::integer from jsonb_array_elements(reqs) x))`,
  },
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const { fn, from, to } of REWRITES) await rewrite(db, fn, from, to);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const { fn, from, to } of [...REWRITES].reverse()) await rewrite(db, fn, to, from);
}

/**
 * Replaces one clause of a function's definition, as stored; refuses a definition that does not hold it.
 * Also used by later migrations that change these functions (20261213T0100).
 */
export async function rewrite(db: Kysely<any>, fn: string, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ def: string }>`select pg_get_functiondef(to_regproc(${fn})) as def`.execute(db);
  const def = rows[0]?.def;
  if (!def?.includes(from)) throw new Error(`${fn}: expected "${from.split('\n')[0]}" in its definition`);
  await sql.raw(def.replace(from, to)).execute(db);
}
