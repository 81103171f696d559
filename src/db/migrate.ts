import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMigrationProvider, Migrator, sql, type Kysely, type MigrationResult } from 'kysely';

/** migrations/ at the repo root (or dist/migrations once compiled). */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * The migrator, told which schema its own tables live in: the connection's
 * current schema (search_path). Left unset, Kysely looks for
 * kysely_migration(_lock) in *every* schema of the database, finds another
 * schema's copy, skips creating its own and fails with "relation
 * kysely_migration_lock does not exist" (seen with two instances starting on
 * a fresh schema while other schemas exist in the same database).
 */
async function migrator(db: Kysely<unknown>): Promise<Migrator> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
    migrationTableSchema: rows[0]?.schema,
  });
}

/**
 * Applies pending migrations. Kysely holds a row lock on its lock table for the
 * whole run, so several instances starting at once apply each migration once.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<MigrationResult[]> {
  const { error, results } = await (await migrator(db)).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/** True when every migration in migrations/ is applied (used by /readyz). */
export async function migrationsApplied(db: Kysely<unknown>): Promise<boolean> {
  const all = await (await migrator(db)).getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
