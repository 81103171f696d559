import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { DB } from './types.js';

/** Where a value goes: a parameter's name, or the constant the builder put there. */
type ParameterSource = { slot: string } | { value: unknown };

interface Template {
  sql: CompiledQuery;
  sources: ParameterSource[];
}

/** A stand-in value: Kysely keeps it as an opaque parameter, and the template notes its name. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A statement that Kysely builds and compiles once per database and shape, then
 * runs with each call's values: on the hot paths (a wrong second-factor code is
 * two statements) building and compiling cost more than the round trip's own
 * JavaScript (BENCHMARKS.md, wrong codes).
 *
 * `build` receives `params` as stand-ins: it may pass them to Kysely as values
 * (compared, set, inserted, in `sql` templates) but must not look inside them.
 * Whatever changes the statement's text (a branch, the length of an `in` list)
 * comes from `shape`, whose `key` names the variant: one template per key.
 * Kysely's plugins see the statement once, when it is compiled: fine for ours
 * (none), not for a plugin that carries state from a query to its result.
 */
export function precompiled<P extends object, S extends { key: string }, R>(
  build: (db: Kysely<DB>, params: P, shape: S) => Compilable<R>,
): (db: Kysely<DB>, params: P, shape: S) => Promise<R[]> {
  const templates = new WeakMap<Kysely<DB>, Map<string, Template>>();
  return async (db, params, shape) => {
    let byKey = templates.get(db);
    if (!byKey) templates.set(db, (byKey = new Map()));
    let template = byKey.get(shape.key);
    if (!template) byKey.set(shape.key, (template = compileTemplate(db, build, shape)));
    const values = params as Record<string, unknown>;
    const parameters = template.sources.map((s) => ('slot' in s ? (values[s.slot] ?? null) : s.value));
    const result = await db.executeQuery<R>({ ...template.sql, parameters });
    return result.rows;
  };
}

function compileTemplate<P extends object, S, R>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, params: P, shape: S) => Compilable<R>,
  shape: S,
): Template {
  const slots = new Proxy({} as P, {
    get: (_, name) => (typeof name === 'string' ? new Slot(name) : undefined),
  });
  const sql = build(db, slots, shape).compile();
  const sources = sql.parameters.map((p): ParameterSource => (p instanceof Slot ? { slot: p.name } : { value: p }));
  return { sql, sources };
}
