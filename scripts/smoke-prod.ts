/**
 * CI's production smoke (.ci/run, after `npm run build`): the image's runtime
 * stage rebuilt in a scratch folder with the Dockerfile's own steps
 * (`npm ci --omit=dev`, then dist/ and openapi.yaml), the service started with
 * the Dockerfile's CMD and ENV on Postgres, a user created with the compiled
 * CLI, a password sign-in and GET /me answered, then SIGTERM and exit 0.
 *
 *   DATABASE_URL=postgres://… node --import tsx scripts/smoke-prod.ts
 *
 * DATABASE_URL must name a database the smoke may write to (CI gives it one of
 * its own). Only this runner uses tsx: the service and the CLI it starts are
 * plain `node` on compiled JavaScript, without devDependencies on disk.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { all, envOf, execForm, parseDockerfile } from '../test/helpers/dockerfile.js';

const ROOT = new URL('../', import.meta.url).pathname;
/** Packages that must not be installed by `npm ci --omit=dev` (README, Operations). */
export const DEV_ONLY = ['tsx', 'esbuild', '@esbuild', 'typescript', 'redoc', 'react', 'react-dom'];

/**
 * The runtime stage's CMD (argv) and ENV, as the image runs them, and its
 * `npm pkg set` steps (what `npm run cli` is in the image).
 */
export function productionCommand(dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')): {
  argv: string[];
  env: Record<string, string>;
  packageSteps: string[];
} {
  const runtime = parseDockerfile(dockerfile).at(-1);
  if (!runtime) throw new Error('Dockerfile has no stage');
  return {
    argv: execForm(all(runtime, 'CMD').at(-1) ?? '[]'),
    env: envOf(runtime),
    packageSteps: all(runtime, 'RUN').filter((r) => r.startsWith('npm pkg set ')),
  };
}

function log(message: string): void {
  console.log(`smoke-prod: ${message}`);
}

function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

function diskUsage(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.blocks * 512;
  return readdirSync(path).reduce((sum, entry) => sum + diskUsage(join(path, entry)), s.blocks * 512);
}

function run(cmd: string, args: string[], options: Parameters<typeof spawnSync>[2]): SpawnSyncReturns<string> {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...options }) as SpawnSyncReturns<string>;
  check(result.status === 0, `${cmd} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The runtime stage: `COPY package*.json`, `npm ci --omit=dev`, `COPY dist`, `COPY openapi.yaml`, `npm pkg set`. */
function stageRuntime(dir: string, packageSteps: string[]): void {
  check(existsSync(join(ROOT, 'dist/src/server.js')), 'dist/ is missing: run `npm run build` first');
  for (const file of ['package.json', 'package-lock.json', 'openapi.yaml']) cpSync(join(ROOT, file), join(dir, file));
  run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const installed = DEV_ONLY.filter((name) => existsSync(join(dir, 'node_modules', name)));
  check(installed.length === 0, `npm ci --omit=dev installed development packages: ${installed.join(', ')}`);
  log(`npm ci --omit=dev: node_modules is ${(diskUsage(join(dir, 'node_modules')) / 2 ** 20).toFixed(0)} MiB`);
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const step of packageSteps) run('sh', ['-c', step], { cwd: dir });
}

async function waitReady(base: string, exited: () => boolean): Promise<void> {
  // Bounds a hung start only; a healthy start on Postgres takes about a second.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    check(!exited(), 'the service exited before it was ready');
    const status = await fetch(`${base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('/readyz did not answer 200 within 90 s');
}

async function signIn(base: string, email: string, password: string): Promise<string> {
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await login.json()) as { meta?: { code?: number } };
  check(
    login.status === 200 && body.meta?.code === 200,
    `POST /login answered ${login.status}: ${JSON.stringify(body)}`,
  );
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  check(cookie !== '', 'POST /login set no cookie');
  const me = await fetch(`${base}/me`, { headers: { cookie } });
  const meBody = (await me.json()) as { response?: { user?: { email?: string } } };
  check(me.status === 200, `GET /me with the session cookie answered ${me.status}: ${JSON.stringify(meBody)}`);
  return String(meBody.response?.user?.email);
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  check(databaseUrl, 'DATABASE_URL must name a Postgres database for the smoke');
  const { argv, env: imageEnv, packageSteps } = productionCommand();
  check(imageEnv.NODE_ENV === 'production', 'the Dockerfile runs with NODE_ENV=production');
  const dir = mkdtempSync(join(tmpdir(), 'tfa-smoke-prod-'));
  let child: ReturnType<typeof spawn> | undefined;
  const output: string[] = [];
  try {
    stageRuntime(dir, packageSteps);
    // Secrets generated for this run; SECRET_KEY from a file, as a mounted Docker/Kubernetes secret.
    const keyFile = join(dir, 'secret_key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const port = await freePort();
    const metricsPort = await freePort();
    const env = {
      PATH: process.env.PATH ?? '',
      ...imageEnv,
      // The image listens on 0.0.0.0:3000; here only loopback, on a port nobody else holds.
      HOST: '127.0.0.1',
      PORT: String(port),
      // The image serves metrics on 0.0.0.0:9464 (a port of their own); here loopback and a free port.
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: databaseUrl,
      SECRET_KEY_FILE: keyFile,
      SECURITY_TOTP_SECRETS: JSON.stringify({ '1': randomBytes(32).toString('base64') }),
      EMAIL_SERVICE: 'log',
      SECURITY_SMS_SERVICE: 'log',
    };
    log(
      `starting ${argv.join(' ')} (NODE_ENV=${imageEnv.NODE_ENV}, node ${spawnSync(argv[0]!, ['--version'], { encoding: 'utf8' }).stdout.trim()})`,
    );
    const started = spawn(argv[0]!, argv.slice(1), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    started.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      started.once('close', (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, () => exitCode !== undefined);
    log(`${base}/readyz answered 200`);

    const email = `smoke-${randomBytes(4).toString('hex')}@example.com`;
    const password = randomBytes(12).toString('base64');
    // As an operator types it in the container: the image's "cli" script is the compiled CLI.
    const cli = ['run', '--silent', 'cli', '--', 'users:create', '--email', email, '--password-stdin'];
    const created = run('npm', cli, { cwd: dir, env, input: `${password}\n` });
    const script = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts.cli;
    check(script === 'node dist/src/cli.js', `npm run cli in the image runs ${script}`);
    log(`npm run cli -- users:create (${script}): ${created.stdout.trim()}`);
    const signedIn = await signIn(base, email, password);
    check(signedIn === email, `GET /me answered for ${signedIn}, not ${email}`);
    log(`POST /login then GET /me answered 200 for ${signedIn}`);
    const docs = await fetch(`${base}/docs`);
    const bundle = await fetch(`${base}/docs/redoc.standalone.js`);
    check(docs.status === 200 && bundle.status === 200, `/docs ${docs.status}, its bundle ${bundle.status}`);
    log(`/docs served from the build (${(await bundle.arrayBuffer()).byteLength} bytes of Redoc)`);

    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    check(metrics.status === 200, `/metrics on the metrics port answered ${metrics.status}`);
    log(`/metrics answered 200 on its own port`);

    started.kill('SIGTERM');
    const code = await exited;
    child = undefined;
    check(code === 0, `the service exited ${code} after SIGTERM`);
    log('SIGTERM: exited 0. The production build started and answered a sign-in.');
  } catch (err) {
    console.error(output.join(''));
    throw err;
  } finally {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`smoke-prod: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
