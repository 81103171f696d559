/**
 * `npm run bench -- [options]`: starts the service (compiled build) on a fresh
 * Postgres database, seeds users through the API, runs the scenarios and prints
 * a report. See BENCHMARKS.md for the figures and how they were taken.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/users/passwords.js';
import { waitQuiet } from './cpu.js';
import {
  hashScenario,
  sessionScenario,
  signinScenario,
  validateWrongScenario,
  type HashResult,
  type Row,
} from './scenarios.js';
import {
  eventsDrained,
  failureCounters,
  recreateDatabase,
  vacuum,
  registerUsers,
  seedLarge,
  tableSizes,
  type BenchUser,
} from './seed.js';
import { BENCH_METRICS_TOKEN, peerServer, startServer, targetServer, waitReady, type ServerHandle } from './server.js';

const ALL = ['hash', 'floor', 'session', 'signin', 'validate-wrong'] as const;

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    // With --url: the service there is a peer from bench/compare/ (`fst`: Flask-Security-Too under gunicorn).
    peer: { type: 'string' },
    scenarios: { type: 'string', default: ALL.join(',') },
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    // signin: each user signs in at most once per 30-second TOTP step, so the pool must hold 30 × the rate.
    users: { type: 'string', default: '6000' },
    // validate-wrong: pending sign-ins prepared before each measured window (5 rejections each).
    pending: { type: 'string', default: '6000' },
    large: { type: 'boolean', default: false },
    'large-users': { type: 'string', default: '100000' },
    'large-sessions': { type: 'string', default: '1000000' },
    'log-level': { type: 'string', default: 'warn' },
    'admin-url': {
      type: 'string',
      default: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    database: { type: 'string', default: 'tfa_bench' },
    port: { type: 'string', default: '3917' },
    'no-build': { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    // Node flags for the service only (space-separated), e.g. --node-args="--cpu-prof --cpu-prof-dir=/tmp/prof".
    'node-args': { type: 'string', default: '' },
    out: { type: 'string' },
    // Before each scenario, wait up to quiet-wait seconds for other processes to use < quiet-limit % of a core.
    'quiet-limit': { type: 'string', default: '15' },
    'quiet-wait': { type: 'string', default: '60' },
  },
});

const log = (line: string): void => console.error(`[bench] ${line}`);
const clientsList = args.concurrency.split(',').map(Number);
const scenarios = new Set(args.scenarios.split(','));
for (const s of scenarios)
  if (!(ALL as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}; known: ${ALL.join(', ')}`);
if (args.peer !== undefined && (args.peer !== 'fst' || !args.url))
  throw new Error(
    '--peer fst needs --url: the Flask-Security-Too app of bench/compare/, started as BENCHMARKS.md says',
  );
const seconds = Number(args.duration);
const warmupSeconds = Number(args.warmup);

function databaseUrl(): string {
  const u = new URL(args['admin-url']);
  u.pathname = `/${args.database}`;
  return u.toString();
}

/** The production command's arguments (package.json "start:prod", the Dockerfile's CMD), flags included. */
function productionCommand(): string[] {
  const prod = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts[
    'start:prod'
  ]!;
  return prod.split(' ').slice(1);
}

async function start(): Promise<ServerHandle> {
  if (args.url) {
    await waitReady(args.url);
    return args.peer ? peerServer(args.url, 'gunicorn') : targetServer(args.url);
  }
  await recreateDatabase(args['admin-url'], args.database);
  let entry = productionCommand();
  if (args.tsx) entry = ['--import', 'tsx', 'src/server.ts'];
  else if (!args['no-build']) {
    log('building: tsc -p tsconfig.build.json');
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'inherit',
    });
  }
  const nodeArgs = args['node-args'].split(' ').filter(Boolean);
  return startServer({
    entry: [...nodeArgs, ...entry],
    port: Number(args.port),
    log,
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl(),
      LOG_LEVEL: args['log-level'],
      SECRET_KEY: 'bench-secret-key-0123456789-abcdefghijklmnop',
      SECURITY_TOTP_SECRETS: JSON.stringify({ '1': 'bench-totp-key-0123456789abcdef' }),
      EMAIL_SERVICE: 'log',
      SECURITY_SMS_SERVICE: 'log',
      SECURITY_REGISTERABLE: 'true',
      // One client address makes every request: the per-IP limit would measure itself.
      RATE_LIMIT_MAX: '1000000000',
      // Clients come as from many addresses through a proxy on 127.0.0.1 (bench/http.ts).
      TRUST_PROXY: '127.0.0.1',
      // validate-wrong drives hundreds of wrong codes per user on purpose (the maximum).
      // A lock resets the counter; the bench's exactness check says so if one happened.
      SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: '1000',
      METRICS_ENABLED: 'true',
      // On the API port, where bench/server.ts reads tfa_db_queries_total (with this token).
      METRICS_PORT: '0',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
    },
  });
}

const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);

function printRows(title: string, rows: Row[]): void {
  console.log(`\n## ${title}\n`);
  console.log(
    '| scenario | clients | unit | ops/s | p50 ms | p90 ms | p99 ms | errors | DB round trips/request | peak RSS MiB | CPU µs/request service / postgres | CPU % service / bench / postgres / others |',
  );
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.clients} | ${r.unit} | ${fmt(r.ops.perSecond)} | ${fmt(r.ops.p50, 2)} | ${fmt(r.ops.p90, 2)} | ${fmt(r.ops.p99, 2)} | ${r.errors} | ${fmt(r.roundTripsPerRequest, 2)} | ${fmt(r.peakRssMiB, 0)} | ${r.cpu ? `${fmt((r.cpu.server * r.seconds * 1e4) / r.requests, 0)} / ${fmt((r.cpu.postgres * r.seconds * 1e4) / r.requests, 0)}` : '–'} | ${r.cpu ? [r.cpu.server, r.cpu.bench, r.cpu.postgres, r.cpu.others].map((x) => fmt(x, 0)).join(' / ') : '–'} |`,
    );
  }
  for (const r of rows) {
    for (const n of r.notes ?? []) console.log(`\n- ${r.scenario} @${r.clients}: ${n}`);
    if (r.cpu && r.ops.perSecond) {
      const perOp = (pct: number): string => fmt((pct * 1e4) / r.ops.perSecond!, 0);
      console.log(
        `\n- ${r.scenario} @${r.clients} CPU µs per ${r.unit}: service ${perOp(r.cpu.server)} (event loop ${perOp(r.cpu.serverLoop)}, other threads ${perOp(r.cpu.server - r.cpu.serverLoop)}), postgres ${perOp(r.cpu.postgres)}, bench ${perOp(r.cpu.bench)}, others ${perOp(r.cpu.others)}`,
      );
    }
    if (r.errorDetail && Object.keys(r.errorDetail).length)
      console.log(`\n- ${r.scenario} @${r.clients} errors: ${JSON.stringify(r.errorDetail)}`);
    if (r.perRequest) {
      const parts = Object.entries(r.perRequest).map(([k, s]) => `${k} p50 ${fmt(s.p50, 1)} / p99 ${fmt(s.p99, 1)} ms`);
      console.log(`\n- ${r.scenario} @${r.clients} per request: ${parts.join('; ')}`);
    }
  }
}

async function runScenarios(
  server: ServerHandle,
  pools: { session: BenchUser[]; signin: BenchUser[]; wrong: BenchUser[]; twoFactor: boolean },
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const clients of clientsList) {
    const o = { server, clients, seconds, warmupSeconds };
    // Seeding and the sign-in scenarios leave tens of thousands of dead rows (session
    // rotation, throttle and pending rows); Postgres's autovacuum would clean them up
    // in the middle of the next measured window and bill it to that scenario. Vacuum
    // first, then wait for the machine to settle.
    const quiet = async (): Promise<number> => {
      if (!args.url) {
        const waited = await eventsDrained(databaseUrl());
        if (waited > 1) log(`waited ${fmt(waited)} s for the service to deliver the events of what came before`);
        await vacuum(databaseUrl());
      }
      return waitQuiet(server.pids(), Number(args['quiet-limit']), Number(args['quiet-wait']), log);
    };
    if (scenarios.has('session')) {
      await quiet();
      rows.push(
        await sessionScenario(
          o,
          pools.session.map((u) => u.cookie),
        ),
      );
      log(`session @${clients}: ${fmt(rows.at(-1)!.ops.perSecond)} req/s`);
    }
    if (scenarios.has('signin')) {
      await quiet();
      rows.push(await signinScenario(o, pools.signin));
      log(`signin @${clients}: ${fmt(rows.at(-1)!.ops.perSecond)} /s`);
    }
    if (scenarios.has('validate-wrong')) {
      if (!pools.twoFactor) log('validate-wrong skipped: the service has no two-factor routes yet');
      else {
        await quiet();
        rows.push(
          await validateWrongScenario(
            {
              ...o,
              pending: Number(args.pending),
              // Flask-Security-Too has no attempt cap: five wrong codes per sign-in all the same.
              capped: !args.peer,
              ...(args.url ? {} : { counters: () => failureCounters(databaseUrl()) }),
            },
            pools.wrong,
          ),
        );
        log(`validate-wrong @${clients}: ${fmt(rows.at(-1)!.ops.perSecond)} rejections/s`);
      }
    }
  }
  return rows;
}

/**
 * The floor of each concurrency: node:http and bare Fastify answering a fixed
 * GET /me with the production command's flags, driven exactly as the session
 * scenario drives the service. The service cannot beat these on this machine;
 * the gap is what it spends on its own work.
 */
async function floorScenarios(): Promise<Row[]> {
  const rows: Row[] = [];
  const cookie = `session=${'x'.repeat(32)}.${'y'.repeat(43)}`;
  for (const mode of ['node', 'fastify'] as const) {
    const server = await startServer({
      entry: [...productionCommand().filter((a) => a.startsWith('--')), 'bench/floor-server.mjs', mode],
      port: Number(args.port) + 1,
      env: { NODE_ENV: 'production' },
      log,
    });
    try {
      for (const clients of clientsList) {
        await waitQuiet(server.pids(), Number(args['quiet-limit']), Number(args['quiet-wait']), log);
        const row = await sessionScenario({ server, clients, seconds, warmupSeconds }, [cookie]);
        rows.push({
          ...row,
          scenario: `floor ${mode === 'node' ? 'node:http' : 'Fastify'}`,
          roundTripsPerRequest: null,
        });
        log(`floor ${mode} @${clients}: ${fmt(row.ops.perSecond)} req/s`);
      }
    } finally {
      await server.stop();
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const report: {
    machine: Record<string, unknown>;
    hash?: HashResult;
    floor?: Row[];
    empty?: Row[];
    large?: Row[];
    largeSeed?: Record<string, unknown>;
  } = {
    machine: {
      cpus: os.cpus()[0]?.model,
      cores: os.availableParallelism(),
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
  };
  if (scenarios.has('hash')) {
    await waitQuiet([], Number(args['quiet-limit']), Number(args['quiet-wait']), log);
    report.hash = await hashScenario();
    const h = report.hash;
    console.log(
      `\n## hash\n\nargon2id m=${h.options.memoryCost} KiB t=${h.options.timeCost} p=${h.options.parallelism}: hash p50 ${fmt(h.hashMs.p50, 2)} ms (p90 ${fmt(h.hashMs.p90, 2)}), verify p50 ${fmt(h.verifyMs.p50, 2)} ms`,
    );
    console.log(
      `sign-in limit = ${h.cores} cores ÷ ${fmt(h.hashMs.p50, 2)} ms = ${fmt(h.limitPerSecond)} /s (measured ${h.cores} parallel verifies: ${fmt(h.parallelVerifyPerSecond)} /s)`,
    );
  }
  if (scenarios.has('floor') && !args.url) {
    report.floor = await floorScenarios();
    printRows('floor: a Node process that only answers GET /me (bench/floor-server.mjs)', report.floor);
  }
  const needServer = ['session', 'signin', 'validate-wrong'].some((s) => scenarios.has(s));
  if (needServer) {
    const server = await start();
    try {
      const maxClients = Math.max(...clientsList);
      const t0 = performance.now();
      const session = await registerUsers(server.url, {
        prefix: 'session',
        count: Math.max(256, maxClients * 2),
        authenticator: false,
      });
      const signin = scenarios.has('signin')
        ? await registerUsers(server.url, { prefix: 'signin', count: Number(args.users), authenticator: true })
        : { users: [], twoFactor: false };
      const wrong =
        scenarios.has('validate-wrong') && (signin.twoFactor || !scenarios.has('signin'))
          ? await registerUsers(server.url, { prefix: 'wrong', count: maxClients * 4, authenticator: true })
          : { users: [], twoFactor: false };
      log(
        `seeded ${session.users.length + signin.users.length + wrong.users.length} users through the API in ${fmt((performance.now() - t0) / 1000)} s (two-factor: ${signin.twoFactor})`,
      );
      const pools = {
        session: session.users,
        signin: signin.users,
        wrong: wrong.users,
        twoFactor: signin.twoFactor || wrong.twoFactor,
      };
      report.empty = await runScenarios(server, pools);
      printRows(`empty database (${server.pid ? `service pid ${server.pid}` : server.url})`, report.empty);
      if (args.large && !args.url) {
        const users = Number(args['large-users']);
        const sessions = Number(args['large-sessions']);
        log(`seeding ${users} users and ${sessions} sessions by SQL…`);
        const took = await seedLarge(databaseUrl(), {
          users,
          sessions,
          passwordHash: await hashPassword('filler password'),
        });
        report.largeSeed = { seconds: took, ...(await tableSizes(databaseUrl())) };
        log(`seeded in ${fmt(took)} s: ${JSON.stringify(report.largeSeed)}`);
        scenarios.delete('validate-wrong');
        report.large = await runScenarios(server, pools);
        printRows(`large database (${JSON.stringify(report.largeSeed)})`, report.large);
      }
      const peak = server.hwmMiB();
      if (peak !== null) console.log(`\nservice peak RSS over the whole run (VmHWM): ${fmt(peak, 0)} MiB`);
    } finally {
      await server.stop();
    }
  }
  if (args.out) writeFileSync(args.out, JSON.stringify(report, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
