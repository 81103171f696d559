/**
 * The shape of src/ that docs/architecture.md describes, checked: no import
 * cycle anywhere (a cycle makes load order matter and hides which way a
 * dependency runs), no service that knows Fastify (services take a Caller and
 * return outcomes), a factor's rule close to app.ts (app.ts hands the factor
 * table to the services, which import none), no file outside
 * two-factor/factors/ and the config that names a second-factor method (a new
 * factor is one file there), and no SQL built outside the repositories and the
 * few db/ and audit files listed below (a query in a service or a handler is a
 * rule nobody finds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCycles, importGraph, shortestPath } from '../helpers/import-graph.js';

const SRC = join(import.meta.dirname, '../../src');
const graph = importGraph(SRC);

test('src/ has no import cycle', () => {
  assert.ok(graph.files.length > 50, `read ${graph.files.length} files`);
  assert.deepEqual(importCycles(graph), []);
});

test('the cycle check finds a cycle when there is one', () => {
  const edges = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  assert.deepEqual(importCycles({ files: [...edges.keys()], edges, packages: new Map() }), [['a.ts', 'b.ts', 'c.ts']]);
});

test('no *.service.ts imports fastify', () => {
  const services = graph.files.filter((f) => f.endsWith('.service.ts'));
  assert.ok(services.length >= 8, `found ${services.length} services`);
  const offenders = services.filter((f) =>
    graph.packages.get(f)!.some((p) => p === 'fastify' || p.startsWith('@fastify/')),
  );
  assert.deepEqual(offenders, []);
});

test('app.ts reaches every factor through the table in at most three imports; the services import no table', () => {
  const TABLE = 'two-factor/factors/index.ts';
  const modules = graph.edges.get(TABLE)!.filter((f) => f !== 'two-factor/factors/factor.ts');
  assert.ok(modules.length >= 2, `the table imports ${modules.join(', ')}`);
  for (const factor of modules) {
    const path = shortestPath(graph, 'app.ts', factor);
    assert.ok(path && path.length - 1 <= 3, `${factor}: ${path?.join(' → ')}`);
  }
  const importers = graph.files.filter((f) => graph.edges.get(f)!.includes(TABLE));
  assert.deepEqual(importers, ['app.ts']);
});

test('no file outside two-factor/factors/ and the config switches on a factor id', () => {
  const allowed = (f: string) => f.startsWith('two-factor/factors/') || f === 'config/schema.ts';
  const offenders = graph.files.filter(
    (f) => !allowed(f) && /'authenticator'|=== 'sms'/.test(readFileSync(join(SRC, f), 'utf8')),
  );
  assert.deepEqual(offenders, []);
});

/**
 * Building SQL with Kysely: a query builder entry point, or the `sql` template tag
 * and its helpers (sql`…`, sql<T>`…`, sql.raw, sql.join…). Comments are stripped
 * first, so prose about a query does not count.
 */
const BUILDS_SQL = /\.(selectFrom|insertInto|updateTable|deleteFrom|mergeInto|replaceInto)\(|\bsql(`|<|\.\w+\()/;
const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** Files that build SQL without being a repository, each for a reason. */
const SQL_OUTSIDE_REPOSITORIES: Record<string, string> = {
  'db/session-store.ts': 'the session store: its rows are the sessions plugin (http/session.ts) storage',
  'db/migrate.ts': "the migrator, told the connection's schema",
  'db/database.ts': 'the connection, and the ping of /readyz',
  'db/schema-introspector.ts': "the migrator's view of its own schema",
  'audit/audit.ts': 'the auditor: one audit row, and the gated audit rows other statements embed',
};

test('no file outside the repositories and the listed db/ and audit files builds SQL', () => {
  const allowed = (f: string) => f.endsWith('.repository.ts') || Object.hasOwn(SQL_OUTSIDE_REPOSITORIES, f);
  const builders = graph.files.filter((f) => BUILDS_SQL.test(withoutComments(readFileSync(join(SRC, f), 'utf8'))));
  assert.ok(builders.filter((f) => f.endsWith('.repository.ts')).length >= 8, `found ${builders.length} files`);
  assert.deepEqual(
    builders.filter((f) => !allowed(f)),
    [],
  );
  // Every listed exception still builds SQL: a stale entry would hide a new query there.
  assert.deepEqual(
    Object.keys(SQL_OUTSIDE_REPOSITORIES).filter((f) => !builders.includes(f)),
    [],
  );
});

test('the SQL check finds the ways Kysely builds a query', () => {
  for (const code of [
    "await db.selectFrom('users').selectAll().execute();",
    "db\n  .insertInto('audit_events')",
    "trx.updateTable('users').set({ active: false })",
    "qb.deleteFrom('sessions')",
    'await sql`select 1`.execute(db);',
    'sql<{ schema: string }>`select current_schema()`',
    'sql.raw(text)',
  ])
    assert.ok(BUILDS_SQL.test(withoutComments(code)), code);
  for (const code of [
    "// db.selectFrom is the repository's business",
    '/** A query: `sql`select 1`` */',
    'const sqlState = 1;',
    "import { sql } from 'kysely';",
  ])
    assert.ok(!BUILDS_SQL.test(withoutComments(code)), code);
});
