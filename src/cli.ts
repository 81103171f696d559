/**
 * `npm run cli -- <command>`: operator commands with the service's own
 * environment (README, command line). An entry point like server.ts: it may read process.env.
 */
import { parseArgs } from 'node:util';
import { ConfigError, devSecrets, loadConfig, type Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { commands } from './cli/commands.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(
      `usage: npm run cli -- <command>\ncommands:\n${Object.entries(commands)
        .map(([n, c]) => `  ${n} ${c.usage}`)
        .join('\n')}`,
    );
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(process.env, { devSecrets });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const { values } = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false });
  let database: Database | undefined;
  try {
    database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
    await migrateToLatest(database.db as never);
    const out = await command.run({
      config,
      db: database.db,
      args: values as Record<string, string | boolean | undefined>,
      readStdin,
    });
    console.log(out);
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await database?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
