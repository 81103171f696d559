import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import { isDatabaseUnavailable } from './unavailable.js';
import { claimDataDir, type DataDirLock } from './data-dir-lock.js';
import type { DB } from './types.js';
import { introspectCurrentSchemaOnly } from './schema-introspector.js';
import { pgliteChangeFeed, postgresChangeFeed, type ChangeFeed } from './change-feed.js';

export interface QueryStats {
  /** Statements sent to the database since start (the bench reports round trips per request). */
  queries: number;
  /** Sees the text of each statement as it is sent: tests that compare what two requests did set it. */
  onQuery?: ((sql: string) => void) | undefined;
}

export interface Database {
  db: Kysely<DB>;
  kind: 'postgres' | 'pglite';
  stats: QueryStats;
  /** Change notices of sessions and users, for the session cache (change-feed.ts). */
  changes: ChangeFeed;
  close(): Promise<void>;
  /** PGlite only: the data folder as a tarball, to start other in-memory databases from (`loadDataDir`). */
  dumpDataDir?(): Promise<Blob>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Postgres schema to work in (tests isolate each file in its own). */
  schema?: string;
  poolSize?: number;
  /**
   * The lock on dataDir, when the caller took it before anything else touched
   * the folder (server.ts, cli.ts). Otherwise PGlite on a folder takes it here
   * and lets it go on close().
   */
  owner?: DataDirLock;
  /**
   * PGlite in memory only: start from this dump of a data folder instead of an
   * empty one. Tests start every database from one migrated dump
   * (test/helpers/db.ts), which costs a third of a fresh start and no migrations.
   */
  loadDataDir?: Blob;
  /**
   * The audit types that get an outbox row (docs/architecture.md, Events out): `*` for
   * every type, or those a target may want. Unset, every audit row gets one.
   */
  outboxTypes?: '*' | readonly string[];
}

/**
 * Sets the connection's `tfa.outbox_types`, read by the outbox trigger
 * (migrations/20261211T0100_outbox_types.ts). A statement without parameters, so
 * on Postgres it rides in the change feed's connect statement.
 */
function outboxSettingSql(types: '*' | readonly string[]): string {
  const value = types === '*' ? '*' : `,${types.join(',')},`;
  return `set tfa.outbox_types = '${value.replaceAll("'", "''")}'`;
}

/** One round trip that touches no table: throws when the database cannot be reached (/readyz). */
export async function ping(db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db);
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const stats: QueryStats = { queries: 0 };
  const log = (event: LogEvent): void => {
    if (event.level !== 'query') return;
    stats.queries++;
    stats.onQuery?.(event.query.sql);
  };
  if (opts.databaseUrl) {
    const connection = {
      connectionString: opts.databaseUrl,
      // Fail fast when the database is down so requests get a quick 503.
      connectionTimeoutMillis: 3000,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    };
    const pool = new pg.Pool({ ...connection, max: opts.poolSize ?? 10 });
    const changes = postgresChangeFeed(connection, {
      ...(opts.outboxTypes === undefined ? {} : { connectSettings: outboxSettingSql(opts.outboxTypes) }),
      ...(opts.schema ? { schema: opts.schema } : {}),
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    // A client in use has no listener of the pool's: a connection that dies under a
    // query would emit an unhandled 'error' and end the process. The query itself is
    // rejected with the same error, which the request answers as 503 (src/db/unavailable.ts).
    pool.on('connect', (client) => client.on('error', () => {}));
    pool.on('connect', namedStatements);
    pool.on('connect', endOnOutage);
    pool.on('connect', changes.onPoolConnect);
    const db = new Kysely<DB>({ dialect: introspectCurrentSchemaOnly(new PostgresDialect({ pool })), log });
    const close = async (): Promise<void> => {
      await changes.close();
      await db.destroy();
    };
    return { db, kind: 'postgres', stats, changes, close };
  }
  // Loaded lazily: PGlite costs ~800 MB and seconds to start, and production on Postgres never needs it.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
  ]);
  const inMemory = opts.dataDir === 'memory://';
  const claimed = inMemory || opts.owner ? undefined : claimDataDir(opts.dataDir, 'process', processName());
  let pglite;
  try {
    if (!inMemory) mkdirSync(opts.dataDir, { recursive: true });
    pglite = inMemory
      ? new PGlite(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {})
      : new PGlite(`${opts.dataDir}/pglite`);
    await pglite.waitReady;
  } catch (err) {
    claimed?.release();
    throw err;
  }
  if (opts.outboxTypes !== undefined) await pglite.exec(outboxSettingSql(opts.outboxTypes));
  if (opts.schema) {
    await pglite.exec(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"; SET search_path TO "${opts.schema}"`);
  }
  const db = new Kysely<DB>({ dialect: introspectCurrentSchemaOnly(new PGliteDialect(pglite)), log });
  const changes = pgliteChangeFeed(pglite);
  const close = async (): Promise<void> => {
    try {
      await changes.close();
      await db.destroy();
    } finally {
      claimed?.release();
    }
  };
  const live = pglite;
  return { db, kind: 'pglite', stats, changes, close, dumpDataDir: () => live.dumpDataDir('none') };
}

function processName(): string {
  return process.argv.slice(1, 3).join(' ');
}

/**
 * A connection whose statement failed because the database went away (its
 * backend terminated, the server shutting down, the socket gone) is ended at
 * once, so the pool drops it when it is released. Without this the pool takes
 * it back as idle: the server's error message arrives before the socket's
 * end, and the next request handed that connection answered 503 although the
 * database was back (4 in 10 times, measured with pg_terminate_backend).
 */
function endOnOutage(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = function (this: unknown, ...args: unknown[]) {
    const result = query(...args);
    // Attached before the caller's own handlers, so the client is ending before it is released.
    if (result instanceof Promise)
      result.catch((err: unknown) => {
        if (isDatabaseUnavailable(err)) client.end().catch(() => {});
      });
    return result;
  } as typeof client.query;
}

/** Distinct statements named per connection; beyond this (e.g. IN-lists of many lengths) they stay unnamed. */
const MAX_NAMED = 500;

/**
 * Sends every parameterized statement as a named (prepared) one, so Postgres
 * parses and plans it once per connection instead of on every call: the
 * session lookup went from ~140 to ~55 µs of Postgres CPU (BENCHMARKS.md).
 * Statements without parameters (DDL, BEGIN, multi-statement scripts) are left alone.
 * If another instance's migration changes a table's row type, Postgres refuses the
 * old plan once (SQLSTATE 0A000); the connection then prepares afresh under new names.
 */
function namedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const names = new Map<string, string>();
  let generation = 0;
  client.query = function (this: unknown, ...args: unknown[]) {
    const [text, values] = args;
    if (args.length !== 2 || typeof text !== 'string' || !Array.isArray(values) || values.length === 0)
      return query(...args);
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= MAX_NAMED) return query(...args);
      name = `k${generation}_${createHash('sha1').update(text).digest('base64url')}`;
      names.set(text, name);
    }
    return new Promise((resolve, reject) => {
      // A Query built from the text and named afterwards: pg copies a config object
      // ({ name, text, values }) property by property on every call, ~2.5-5 µs per query.
      const submitted = new pg.Query(text, values, (err: Error | undefined, result: unknown) =>
        err ? reject(err) : resolve(result),
      );
      // pg reads `name` from the Query (its typings leave it out).
      (submitted as unknown as { name: string }).name = name;
      query(submitted);
    }).catch((err: unknown) => {
      if ((err as { code?: string }).code === '0A000') {
        generation++;
        names.clear();
      }
      // As pg does for its own promises: a stack that leads back to the caller, not to the socket.
      if (err instanceof Error) Error.captureStackTrace(err);
      throw err;
    });
  } as typeof client.query;
}
