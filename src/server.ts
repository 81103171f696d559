/**
 * The entry point: the only module (with cli.ts) that reads process.env,
 * listens, and handles signals.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { ConfigError, devSecrets, loadConfig } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { createLogger } from './logger.js';
import { StartupError } from './startup-error.js';
import { countUsers } from './users/users.repository.js';

async function main(): Promise<void> {
  const warnings: string[] = [];
  let config;
  try {
    // Secret files (SECRET_KEY_FILE, …) are read here, at the edge; config stays data.
    config = loadConfig(process.env, {
      devSecrets,
      warn: (m) => warnings.push(m),
      readFile: (p) => readFileSync(p, 'utf8'),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  for (const w of warnings) logger.warn(w);

  // SIGTERM (docker stop, Kubernetes) or SIGINT (Ctrl-C): /readyz turns 503,
  // the listener closes (new connections are refused, idle keep-alive ones
  // closed, requests arriving on busy ones get 503), requests already being
  // read are answered, then the database closes. In the container this process
  // is PID 1, which the kernel spares every signal it has no handler for, so
  // the handlers go in before the slow start (PGlite, migrations).
  const lifecycle = { draining: false };
  const running: { database?: Database; app?: FastifyInstance } = {};
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      // A second Ctrl-C means "now".
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    stopping = true;
    lifecycle.draining = true;
    logger.info({ signal, timeoutSeconds: config.SHUTDOWN_TIMEOUT }, 'shutting down: finishing in-flight requests');
    // A client that never finishes its request must not hold up the process (and the deploy).
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT * 1000);
    force.unref();
    try {
      await running.app?.close();
      await running.database?.close();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const database = (running.database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
  }));
  await migrateToLatest(database.db as never);
  logger.info({ database: database.kind }, 'database ready, migrations applied');

  const app = (running.app = await buildApp({ config, database, logger, lifecycle }));
  await app.listen({ port: config.PORT, host: config.HOST });

  if ((await countUsers(database.db)) === 0) {
    logger.info(
      'No users yet. Create one with: echo "<password>" | npm run cli -- users:create --email you@example.com --password-stdin',
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof StartupError ? err.message : err);
  process.exit(1);
});
