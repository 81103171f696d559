import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMigrationProvider, Migrator, type Kysely, type MigrationResult } from 'kysely';

/** migrations/ at the repo root (or dist/migrations once compiled). */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

function migrator(db: Kysely<unknown>, schema?: string): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
    // Kysely looks for its own tables in every schema unless told which one: with
    // several schemas in one database (tests), another schema's tables would count.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/**
 * Applies pending migrations. Kysely holds a row lock on its lock table for the
 * whole run, so several instances starting at once apply each migration once.
 */
export async function migrateToLatest(db: Kysely<unknown>, opts: { schema?: string } = {}): Promise<MigrationResult[]> {
  const { error, results } = await migrator(db, opts.schema).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/** True when every migration in migrations/ is applied (used by /readyz). */
export async function migrationsApplied(db: Kysely<unknown>): Promise<boolean> {
  const all = await migrator(db).getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
