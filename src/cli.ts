/**
 * `npm run cli -- <command>`: operator commands with the service's own
 * environment (README, "Command line"). An entry point like server.ts: it may read process.env.
 *
 * On the embedded database the command line must not open a folder the
 * service holds (two processes on one PGlite folder lose data): when a running
 * service owns DATA_DIR, the command goes through that service's command
 * channel; otherwise the command line takes the folder itself for its run.
 * On Postgres it works on the database directly. It says which way it went.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, devSecrets, loadConfig, type Config } from './config.js';
import { storageSettings } from './config/storage.js';
import { openDatabase, type Database } from './db/database.js';
import { claimDataDir, DataDirBusyError, liveHolder, type DataDirLock } from './db/data-dir-lock.js';
import { commands } from './cli/commands.js';
import { cliHelp, commandHelp } from './cli/help.js';
import { ChannelUnavailableError, runViaService } from './cli/channel-client.js';
import { runCommand, type CommandRequest } from './cli/run-command.js';

/** How long to wait for a service that holds the folder but is still starting (PGlite, migrations). */
const SERVICE_START_WAIT_MS = 180_000;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const HELP = new Set(['--help', '-h', 'help']);

/** The request named on the command line, or the exit code when it only asked for help or was wrong. */
function parseCommandLine(argv: string[]): CommandRequest | number {
  const [name, ...rest] = argv;
  if (name !== undefined && HELP.has(name)) {
    console.log(cliHelp(commands));
    return 0;
  }
  const command = name ? commands[name] : undefined;
  if (!name || !command) {
    console.error(`${name ? `unknown command: ${name}\n\n` : ''}${cliHelp(commands)}`);
    return 2;
  }
  if (rest.some((a) => HELP.has(a))) {
    console.log(commandHelp(name, command));
    return 0;
  }
  const names = command.positionals ?? (command.positional ? [command.positional] : []);
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: command.options,
      strict: true,
      allowPositionals: names.length > 0,
    });
    const args = { ...values } as CommandRequest['args'];
    if (positionals.length > names.length) throw new Error(`${name} takes at most: ${names.join(' ')}`);
    // `users:require-2fa you@example.com on` is `--email you@example.com --state on`.
    positionals.forEach((v, i) => (args[names[i]!] ??= v));
    return { command: name, args };
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${commandHelp(name, command)}`);
    return 2;
  }
}

async function main(): Promise<number> {
  const req = parseCommandLine(process.argv.slice(2));
  if (typeof req === 'number') return req;
  const command = commands[req.command]!;
  if (command.local) {
    // Needs neither configuration nor database (admin:token): never through the service.
    try {
      console.log(command.local(req.args));
      return 0;
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }

  const storage = storageSettings(process.env);
  let owner: DataDirLock | undefined;
  if (storage && !storage.databaseUrl) {
    const claimed = await claimOrDelegate(storage.dataDir, req);
    if (typeof claimed === 'number') return claimed;
    owner = claimed;
  }
  let database: Database | undefined;
  try {
    let config: Config;
    try {
      // After the lock: development secrets are written into DATA_DIR only by its owner.
      config = loadConfig(process.env, { devSecrets, readFile: (p) => readFileSync(p, 'utf8') });
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(err.message);
        return 2;
      }
      throw err;
    }
    console.error(
      config.DATABASE_URL
        ? 'directly on the database (DATABASE_URL)'
        : `directly on the embedded database in ${owner?.dir}`,
    );
    database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, owner });
    console.log(await runCommand(req, { config, db: database.db, readStdin }));
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await database?.close();
    owner?.release();
  }
}

/**
 * Takes the data folder for this run, or, when a running service holds it,
 * runs the command through that service and returns the exit code.
 */
async function claimOrDelegate(dataDir: string, req: CommandRequest): Promise<DataDirLock | number> {
  const deadline = Date.now() + SERVICE_START_WAIT_MS;
  let waiting = false;
  for (;;) {
    try {
      return claimDataDir(dataDir, 'command line', `npm run cli -- ${req.command}`);
    } catch (err) {
      if (!(err instanceof DataDirBusyError)) throw err;
      if (err.holder?.role !== 'service') {
        console.error(err.message);
        return 1;
      }
      try {
        const result = await runViaService(dataDir, req, readStdin);
        console.error(`via the running service (pid ${result.pid})`);
        if (result.ok) console.log(result.output);
        else console.error(result.error);
        return result.ok ? 0 : result.usage ? 2 : 1;
      } catch (unavailable) {
        if (!(unavailable instanceof ChannelUnavailableError) || Date.now() > deadline) {
          console.error(`${err.message}; its command channel: ${(unavailable as Error).message}`);
          return 1;
        }
        if (!waiting && liveHolder(dataDir))
          console.error(`waiting for the service (pid ${err.holder.pid}) to finish starting`);
        waiting = true;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
