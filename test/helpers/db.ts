import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

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

export async function createTestDatabase(): Promise<Database & { schema: string }> {
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const database = TEST_DATABASE_URL
    ? await withSchemaLock(async (admin) => {
        await admin.query(`CREATE SCHEMA "${schema}"`);
        const db = await openDatabase({ databaseUrl: TEST_DATABASE_URL, dataDir: 'memory://', schema, poolSize: 20 });
        await migrateToLatest(db.db as never);
        return db;
      })
    : await openDatabase({ databaseUrl: undefined, dataDir: 'memory://', schema, poolSize: 20 });
  if (!TEST_DATABASE_URL) await migrateToLatest(database.db as never);
  const close = database.close;
  return {
    ...database,
    schema,
    async close() {
      await close();
      if (TEST_DATABASE_URL) await withSchemaLock((admin) => admin.query(`DROP SCHEMA "${schema}" CASCADE`));
    },
  };
}
