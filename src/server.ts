/**
 * The entry point: the only module (with cli.ts) that reads process.env,
 * listens, and handles signals.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { CommandChannel } from './cli/channel.js';
import { storageSettings } from './config/storage.js';
import type { Database } from './db/database.js';
import { claimDataDir, DataDirBusyError, type DataDirLock } from './db/data-dir-lock.js';
import { StartupError } from './startup-error.js';

async function main(): Promise<void> {
  // The embedded folder is locked before anything is written into it (the
  // development secrets included); a second service on it stops here, at once.
  const storage = storageSettings(process.env);
  let owner: DataDirLock | undefined;
  if (storage && !storage.databaseUrl) {
    try {
      owner = claimDataDir(storage.dataDir, 'service', 'npm start');
    } catch (err) {
      if (err instanceof DataDirBusyError) {
        console.error(err.message);
        process.exit(1);
      }
      throw err;
    }
  }
  // Loaded once the folder is ours, so a second start answers at once instead of after loading Fastify and the senders.
  const [{ buildApp }, { ConfigError, devSecrets, loadConfig }, { serveCommands }, { runCommand }] = await Promise.all([
    import('./app.js'),
    import('./config.js'),
    import('./cli/channel.js'),
    import('./cli/run-command.js'),
  ]);
  const [{ openDatabase }, { migrateToLatest }, { createLogger }, { countUsers }, { eventsSettings, outboxTypes }] =
    await Promise.all([
      import('./db/database.js'),
      import('./db/migrate.js'),
      import('./logger.js'),
      import('./users/users.repository.js'),
      import('./events/settings.js'),
    ]);
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
  const running: { database?: Database; app?: FastifyInstance; channel?: CommandChannel; operator?: FastifyInstance } =
    {};
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
      await running.channel?.close();
      await running.operator?.close();
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
    owner,
    // Audit rows that no webhook or notice will take get no outbox row (docs/architecture.md, Events out).
    outboxTypes: outboxTypes(eventsSettings(config)),
  }));
  await migrateToLatest(database.db as never);
  logger.info({ database: database.kind }, 'database ready, migrations applied');

  const app = (running.app = await buildApp({ config, database, logger, lifecycle, deliverEvents: true }));
  await app.listen({ port: config.PORT, host: config.HOST });
  if (config.ADMIN_PORT !== undefined) {
    // The operator API and token introspection: off unless ADMIN_PORT is set (README, "Operator API").
    const { buildOperatorApp, listenOperatorApp } = await import('./operator/operator.app.js');
    running.operator = await buildOperatorApp({ config, database, logger });
    await listenOperatorApp(running.operator, config);
  }
  if (owner) {
    // `npm run cli` runs its commands here while the service owns the folder (README, "Command line").
    // Without it the service still serves; only the command line must wait for a stop.
    running.channel = await serveCommands({
      dir: owner.dir,
      logger,
      run: (req, readStdin) => runCommand(req, { config, db: database.db, readStdin, logger }),
    }).catch((err: unknown) => {
      logger.error({ err }, 'command channel failed to start: stop the service to run `npm run cli`');
      return undefined;
    });
  }

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
