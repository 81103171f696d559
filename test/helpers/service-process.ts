/**
 * Runs the real service (`node --import tsx src/server.ts`) as a child process,
 * for the few tests that need what only a process has: signals, exit codes,
 * two instances on one database. Like db.ts, a helper may read the environment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_METRICS, TEST_SECRETS } from './app.js';
import { TEST_DATABASE_URL } from './db.js';
import { writeSuiteLog } from './suite-log.js';

const ROOT = new URL('../../', import.meta.url).pathname;
// PGlite initialising a new folder takes 10+ s on a busy machine; this only bounds a hung start.
const START_TIMEOUT_MS = 180_000;

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  /** Parsed JSON log lines written so far (non-JSON output is kept as {msg}). */
  logs(): Array<Record<string, any>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves once a log line satisfies `match` (needs LOG_LEVEL=debug for 'incoming request'). */
  waitForLog(match: (line: Record<string, any>) => boolean, count?: number): Promise<void>;
}

export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    // Only what the test chooses: the developer's own DATABASE_URL or PORT must not leak in.
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...TEST_SECRETS,
      ...TEST_METRICS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, any>> = [];
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      writeSuiteLog(line);
      try {
        lines.push(JSON.parse(line) as Record<string, any>);
      } catch {
        lines.push({ msg: line });
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  // 'close', not 'exit': 'exit' can come before the last of stdout has been
  // read, and tests look for the process's final log lines once it has exited.
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true;
      resolve(code);
    }),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start in ${START_TIMEOUT_MS} ms:\n${dump(lines)}`)),
      START_TIMEOUT_MS,
    );
    const poll = setInterval(() => {
      const listening = lines.find(
        (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'),
      );
      if (!listening) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(String(listening.msg).slice('Server listening at '.length));
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${dump(lines)}`));
    });
  });
  const waitForLog = async (match: (line: Record<string, any>) => boolean, count = 1): Promise<void> => {
    while (lines.filter(match).length < count) {
      if (closed) throw new Error(`service exited while waiting for a log line:\n${dump(lines)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { url, child, logs: () => lines, exited, kill: (signal = 'SIGTERM') => void child.kill(signal), waitForLog };
}

/** `npm run cli -- <args>` as an operator runs it, with the test's environment; throws on a non-zero exit. */
export function runCli(env: Record<string, string>, args: string[], stdin = ''): string {
  const run = cliProcess(env, args, stdin);
  if (run.status !== 0) throw new Error(`cli ${args.join(' ')} exited ${run.status}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

/** The command line's exit code and both outputs (it says on stderr which way it went). */
export function cliProcess(env: Record<string, string>, args: string[], stdin = '') {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...TEST_SECRETS, ...env },
    input: stdin,
    encoding: 'utf8',
  });
}

/** Starts the service and waits for it to end, for tests of a start that must fail; `ms` is how long it ran. */
export function serviceToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string; ms: number }> {
  const began = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ...TEST_SECRETS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, output, ms: Math.round(performance.now() - began) })),
  );
}

/** What a newcomer's shell has that matters here (PATH, HOME), and none of the developer's own settings. */
export function shellEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
}

/**
 * The service with exactly `env` (and PATH), run to its exit: for starts that
 * must be refused. No test defaults are added (no NODE_ENV, no secrets).
 */
export function runServiceToExit(env: Record<string, string>): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    // Bounds a start that was not refused (it would listen and never exit).
    timeout: 120_000,
  });
}

function dump(lines: Array<Record<string, any>>): string {
  return lines.map((l) => JSON.stringify(l)).join('\n');
}

export interface ServiceDatabase {
  /** Environment that points a service process at this database. */
  env: Record<string, string>;
  /** For tests that seed rows directly: the URL (Postgres) or the data folder (PGlite). */
  databaseUrl?: string;
  schema?: string;
  dataDir: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for service processes: a new schema on DATABASE_URL's
 * server (selected through the URL's `options`, so every instance and the CLI
 * see the same one), else a new PGlite folder. drop() removes it.
 */
export async function createServiceDatabase(): Promise<ServiceDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tfa-service-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (!TEST_DATABASE_URL) return { env: { DATA_DIR: dataDir }, dataDir, drop: async () => removeDir() };

  const schema = `svc_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE SCHEMA "${schema}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const databaseUrl = url.toString();
  return {
    env: { DATABASE_URL: databaseUrl, DATA_DIR: dataDir },
    databaseUrl,
    schema,
    dataDir,
    async drop() {
      await admin(`DROP SCHEMA "${schema}" CASCADE`);
      removeDir();
    },
  };
}
