/**
 * A whole Postgres database of the test's own, for tests that take a database
 * away (ALLOW_CONNECTIONS false, terminated backends, a role's connection
 * limit). The test database's other schemas, and every other engineer's
 * database on the server, are never touched; the server is never stopped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { TEST_DATABASE_URL } from './db.js';

export interface ScratchDatabase {
  name: string;
  /** A URL for this database, as `user` (postgres by default) and through `host:port` if given. */
  url(options?: { user?: string; hostPort?: string }): string;
  /** A connection to the test database (not the scratch one), for ALTER/DROP DATABASE and pg_stat_activity. */
  admin: pg.Client;
  /** The service's connection pool on the scratch database, migrated. */
  database: Database;
  close(): Promise<void>;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  if (!TEST_DATABASE_URL) throw new Error('a scratch database needs Postgres (DATABASE_URL)');
  const base = new URL(TEST_DATABASE_URL);
  const name = `${base.pathname.slice(1)}_scratch_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = ({ user, hostPort }: { user?: string; hostPort?: string } = {}) => {
    const u = new URL(TEST_DATABASE_URL!);
    u.pathname = `/${name}`;
    if (user) u.username = user;
    if (hostPort) u.host = hostPort;
    return u.toString();
  };
  const database = await openDatabase({ databaseUrl: url(), dataDir: 'memory://', poolSize: 5 });
  await migrateToLatest(database.db as never);
  return {
    name,
    url,
    admin,
    database,
    async close() {
      await database.close();
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
