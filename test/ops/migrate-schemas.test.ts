/**
 * Migrations on a Postgres database that holds other schemas (one per
 * instance group, tenant or test file): each schema gets its own migration
 * tables. Kysely's default looks for them in every schema, so a fresh schema
 * beside a migrated one failed to migrate at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
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
