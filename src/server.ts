/**
 * The entry point: the only module (with cli.ts) that reads process.env,
 * listens, and handles signals.
 */
import { buildApp } from './app.js';
import { ConfigError, devSecrets, loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { createLogger } from './logger.js';
import { countUsers } from './users/users.repository.js';

async function main(): Promise<void> {
  const warnings: string[] = [];
  let config;
  try {
    config = loadConfig(process.env, { devSecrets, warn: (m) => warnings.push(m) });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  for (const w of warnings) logger.warn(w);

  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  await migrateToLatest(database.db as never);
  logger.info({ database: database.kind }, 'database ready, migrations applied');

  const lifecycle = { draining: false };
  const app = await buildApp({ config, database, logger, lifecycle });
  await app.listen({ port: config.PORT, host: config.HOST });

  if ((await countUsers(database.db)) === 0) {
    logger.info('No users yet. Create one with: echo "<password>" | npm run cli -- users:create --email you@example.com --password-stdin');
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    lifecycle.draining = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT * 1000);
    force.unref();
    await app.close();
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
