/**
 * Migrations on a Postgres database that holds other schemas (one per
 * instance group, tenant or test file): each schema gets its own migration
 * tables. Kysely's default looks for them in every schema, so a fresh schema
 * beside a migrated one failed to migrate at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest, migrationsApplied } from '../../src/db/migrate.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { createServiceDatabase } from '../helpers/service-process.js';

test(
  'a fresh schema migrates beside an already migrated one, by two instances at once',
  { skip: TEST_DATABASE_URL ? false : 'schemas are a Postgres matter: set DATABASE_URL' },
  async () => {
    const first = await createServiceDatabase();
    const second = await createServiceDatabase();
    const open = (url: string) => openDatabase({ databaseUrl: url, dataDir: first.dataDir });
    const a = await open(first.databaseUrl!);
    const [b1, b2] = await Promise.all([open(second.databaseUrl!), open(second.databaseUrl!)]);
    try {
      await migrateToLatest(a.db as never);
      await Promise.all([migrateToLatest(b1.db as never), migrateToLatest(b2.db as never)]);
      assert.equal(await migrationsApplied(b1.db as never), true);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(b1.db);
      const { rows: files } = await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table(`${first.schema}.kysely_migration`)}`.execute(a.db);
      assert.equal(rows[0]!.n, files[0]!.n, 'each migration recorded once in the new schema');
    } finally {
      await Promise.all([a.close(), b1.close(), b2.close()]);
      await first.drop();
      await second.drop();
    }
  },
);

test(
  'migrating and the /readyz check survive other schemas being dropped at the same moment',
  { skip: TEST_DATABASE_URL ? false : 'schemas are a Postgres matter: set DATABASE_URL' },
  async () => {
    // The threat: another application (or test file) on the same database drops a
    // schema while an instance starts. Kysely's default introspector read every
    // schema and looked each up by name, so the start or /readyz failed with
    // "schema … does not exist" (seen in CI as a 503 from a healthy instance).
    const mine = await createServiceDatabase();
    const db = await openDatabase({ databaseUrl: mine.databaseUrl!, dataDir: mine.dataDir });
    const churn = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await churn.connect();
    let stop = false;
    let dropped = 0;
    const churning = (async () => {
      for (let i = 0; !stop; i++) {
        const other = `churn_${process.pid}_${i}`;
        await churn.query(`CREATE SCHEMA "${other}"; CREATE TABLE "${other}".t (id serial, x text)`);
        await churn.query(`DROP SCHEMA "${other}" CASCADE`);
        dropped++;
      }
    })();
    try {
      await migrateToLatest(db.db as never);
      for (let i = 0; i < 40; i++) assert.equal(await migrationsApplied(db.db as never), true);
      const tables = await db.db.introspection.getTables({ withInternalKyselyTables: true });
      assert.ok(tables.length > 10 && tables.every((t) => t.schema === mine.schema), 'only our own schema is read');
      assert.ok(tables.some((t) => t.name === 'kysely_migration'));
      assert.ok(dropped > 0, 'schemas were dropped meanwhile');
    } finally {
      stop = true;
      await churning;
      await churn.end();
      await db.close();
      await mine.drop();
    }
  },
);
