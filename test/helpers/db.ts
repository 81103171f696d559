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

export async function createTestDatabase(): Promise<Database & { schema: string }> {
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (TEST_DATABASE_URL) {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.end();
  }
  const database = await openDatabase({ databaseUrl: TEST_DATABASE_URL, dataDir: 'memory://', schema, poolSize: 20 });
  await migrateToLatest(database.db as never);
  const close = database.close;
  return {
    ...database,
    schema,
    async close() {
      await close();
      if (TEST_DATABASE_URL) {
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
        await admin.end();
      }
    },
  };
}
