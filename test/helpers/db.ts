import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/db/database.js';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js';

/**
 * The test database: PGlite in memory, or Postgres when DATABASE_URL is set
 * (CI runs the suite both ways). Every call gets a fresh schema, so test files
 * never share rows. This and bench/ are the only places outside the entry
 * points that read the environment.
 */
export const TEST_DATABASE_URL = process.env.DATABASE_URL || undefined;
export const DB_KIND = TEST_DATABASE_URL ? 'postgres' : 'pglite';

/** Any fixed number: the advisory lock every test process takes around its schema DDL. */
const SCHEMA_DDL_LOCK = 724_301;

/**
 * Runs `work` while holding a database-wide advisory lock. Kysely's migrator
 * introspects every table of the database; a schema another test file drops or
 * migrates at that moment makes the introspection fail ("column … does not
 * exist"). Test files run in parallel, so their schema DDL takes turns.
 */
async function withSchemaLock<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [SCHEMA_DDL_LOCK]);
    return await work(admin);
  } finally {
    await admin.end();
  }
}

export async function createTestDatabase(
  options: Pick<DatabaseOptions, 'outboxTypes'> = {},
): Promise<Database & { schema: string }> {
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const database = TEST_DATABASE_URL
    ? await withSchemaLock(async (admin) => {
        await admin.query(`CREATE SCHEMA "${schema}"`);
        const db = await openDatabase({
          ...options,
          databaseUrl: TEST_DATABASE_URL,
          dataDir: 'memory://',
          schema,
          poolSize: 20,
        });
        await migrateToLatest(db.db as never);
        return db;
      })
    : await openDatabase({
        ...options,
        databaseUrl: undefined,
        dataDir: 'memory://',
        schema: PGLITE_SCHEMA,
        loadDataDir: await migratedPglite(),
        poolSize: 20,
      });
  if (!TEST_DATABASE_URL) await migrateToLatest(database.db as never);
  const close = database.close;
  return {
    ...database,
    schema: TEST_DATABASE_URL ? schema : PGLITE_SCHEMA,
    async close() {
      await close();
      if (TEST_DATABASE_URL) await withSchemaLock((admin) => admin.query(`DROP SCHEMA "${schema}" CASCADE`));
    },
  };
}

/** The schema of every in-memory test database (each is a PGlite of its own). */
const PGLITE_SCHEMA = 't_pglite';
const DUMP_DIR = path.resolve(MIGRATIONS_DIR, '../test-results/pglite-template');
let dump: Promise<Blob> | undefined;

/**
 * A migrated PGlite data folder, as a tarball every in-memory test database
 * starts from: about 1.7 s of CPU instead of 5 s for a fresh PGlite plus the
 * migrations, paid by each of the suite's ~80 databases per pass. It is made
 * once per set of migrations and PGlite version (the file name is their hash)
 * and shared by the test processes through test-results/; a process that
 * finds none makes it and renames it into place, so a reader never sees half
 * a file. createTestDatabase still runs the migrator, which then has nothing
 * to do, so a stale dump could not hide a migration.
 */
function migratedPglite(): Promise<Blob> {
  dump ??= (async () => {
    const file = path.join(DUMP_DIR, `${templateKey()}.tar`);
    try {
      return new Blob([readFileSync(file)]);
    } catch {
      const template = await openDatabase({ databaseUrl: undefined, dataDir: 'memory://', schema: PGLITE_SCHEMA });
      try {
        await migrateToLatest(template.db as never);
        const made = await template.dumpDataDir!();
        mkdirSync(DUMP_DIR, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, Buffer.from(await made.arrayBuffer()));
        renameSync(tmp, file);
        return made;
      } finally {
        await template.close();
      }
    }
  })();
  return dump;
}

function templateKey(): string {
  const hash = createHash('sha256');
  const pkg = JSON.parse(
    readFileSync(path.resolve(MIGRATIONS_DIR, '../node_modules/@electric-sql/pglite/package.json'), 'utf8'),
  ) as { version: string };
  hash.update(`pglite ${pkg.version} schema ${PGLITE_SCHEMA}\n`);
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(name);
    hash.update(readFileSync(path.join(MIGRATIONS_DIR, name)));
  }
  return hash.digest('hex').slice(0, 16);
}
