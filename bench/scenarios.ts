/**
 * The scenarios of `npm run bench`. Each returns one row of the report.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import { totpCode } from '../src/two-factor/factors/totp.js';
import { hashPassword, PASSWORD_HASH_OPTIONS, verifyPassword } from '../src/users/passwords.js';
import { shares, snapshot, type CpuShares } from './cpu.js';
import { Client, type Answer } from './http.js';
import { runLoop, summarize, type Recorder, type Summary } from './loop.js';
import { stepOf, type BenchUser } from './seed.js';
import type { ServerHandle } from './server.js';

export interface Row {
  scenario: string;
  clients: number;
  /** what one operation is, e.g. "request", "sign-in (4 requests)", "rejection" */
  unit: string;
  ops: Summary;
  errors: number;
  errorDetail?: Record<string, number>;
  requests: number;
  roundTripsPerRequest: number | null;
  peakRssMiB: number | null;
  notes?: string[];
  perRequest?: Record<string, Summary>;
  /** CPU use during the measured window, in % of one core. */
  cpu?: CpuShares;
  /** Length of the measured window. */
  seconds: number;
}

export interface RunOptions {
  server: ServerHandle;
  clients: number;
  seconds: number;
  warmupSeconds: number;
}

/** Round trips and CPU shares over a measured window. */
class Meter {
  private q0: number | null = null;
  private s0 = snapshot([]);
  queries: number | null = null;
  cpu: CpuShares | undefined;
  constructor(private readonly server: ServerHandle) {}

  async start(): Promise<void> {
    this.server.resetPeak();
    this.q0 = await this.server.queries();
    this.s0 = snapshot(this.server.pids());
  }

  async end(): Promise<void> {
    this.cpu = shares(this.s0, snapshot(this.server.pids()));
    const q1 = await this.server.queries();
    this.queries = this.q0 === null || q1 === null ? null : q1 - this.q0;
  }
}

/** GET /me with a signed-in session cookie: autocannon, one cookie per request round robin. */
export async function sessionScenario(opts: RunOptions, cookies: string[]): Promise<Row> {
  if (cookies.length === 0) throw new Error('session scenario needs signed-in cookies');
  let next = 0;
  const cannon = (duration: number): Promise<autocannon.Result> =>
    autocannon({
      url: opts.server.url,
      connections: opts.clients,
      pipelining: 1,
      duration,
      requests: [
        {
          method: 'GET',
          path: '/me',
          setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length]! } }),
        },
      ],
    });
  await cannon(opts.warmupSeconds);
  const meter = new Meter(opts.server);
  await meter.start();
  const r = await cannon(opts.seconds);
  await meter.end();
  const { queries } = meter;
  const seconds = r.duration;
  const errors = r.errors + r.timeouts + r.non2xx;
  return {
    scenario: 'session',
    clients: opts.clients,
    unit: 'GET /me',
    ops: {
      count: r.requests.total,
      perSecond: r.requests.total / seconds,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
    },
    errors,
    requests: r.requests.total,
    roundTripsPerRequest: queries === null ? null : queries / r.requests.total,
    peakRssMiB: opts.server.peakRssMiB(),
    cpu: meter.cpu,
    seconds,
  };
}

function expect(rec: Recorder, what: string, a: Answer, status: number): boolean {
  rec.request();
  rec.ok(what, a.ms);
  if (a.status === status) return true;
  const code = a.body.response?.error_code;
  rec.error(`${what} ${a.status}${typeof code === 'string' ? ` ${code}` : ''}`);
  return false;
}

/**
 * The report row of a closed-loop scenario: `op` is the latency that counts as
 * one operation; per-request latencies are the others (or all of them).
 */
function loopRow(
  opts: RunOptions,
  meter: Meter,
  rec: Recorder,
  seconds: number,
  row: { scenario: string; unit: string; op: string; notes: string[]; perRequestOf?: 'others' | 'all' },
): Row {
  const perRequest: Record<string, Summary> = {};
  for (const [k, v] of rec.latencies)
    if (row.perRequestOf === 'all' || k !== row.op) perRequest[k] = summarize(v, seconds);
  return {
    scenario: row.scenario,
    clients: opts.clients,
    unit: row.unit,
    ops: summarize(rec.latencies.get(row.op) ?? [], seconds),
    errors: rec.errorCount(),
    errorDetail: Object.fromEntries(rec.errors),
    requests: rec.requests,
    roundTripsPerRequest: meter.queries === null || rec.requests === 0 ? null : meter.queries / rec.requests,
    peakRssMiB: opts.server.peakRssMiB(),
    cpu: meter.cpu,
    seconds,
    notes: row.notes,
    perRequest,
  };
}

/** Hands out users whose last TOTP step is behind the current one; waits for the next step when none is. */
class UserPool {
  private i = 0;
  waits = 0;
  constructor(private readonly users: BenchUser[]) {}

  async take(): Promise<BenchUser> {
    for (;;) {
      const step = stepOf(Date.now());
      for (let n = 0; n < this.users.length; n++) {
        const u = this.users[this.i++ % this.users.length]!;
        if (u.secret === null || u.lastStep < step) {
          u.lastStep = step;
          return u;
        }
      }
      this.waits++;
      await new Promise((r) => setTimeout(r, (step + 1) * 30_000 - Date.now() + 5));
    }
  }
}

/** POST /login → POST /tf-validate (TOTP) → GET /me → POST /logout. */
export async function signinScenario(opts: RunOptions, users: BenchUser[]): Promise<Row> {
  const base = new URL(opts.server.url);
  const clients = Array.from({ length: opts.clients }, () => new Client(base));
  const pool = new UserPool(users);
  let twoFactorSeen = false;
  const meter = new Meter(opts.server);
  const { rec, seconds } = await runLoop({
    clients: opts.clients,
    seconds: opts.seconds,
    warmupSeconds: opts.warmupSeconds,
    onMeasureStart: () => meter.start(),
    onMeasureEnd: () => meter.end(),
    iteration: async (i, rec) => {
      const c = clients[i]!;
      const user = await pool.take();
      const started = performance.now();
      c.clear();
      const login = await c.request('POST', '/login', { email: user.email, password: user.password });
      if (!expect(rec, 'POST /login', login, 200)) return;
      if (login.body.response?.tf_required === true) {
        twoFactorSeen = true;
        if (!user.secret) return void rec.error('2FA asked of a user without a secret');
        // The step may have turned since take(): the code used is the one to remember,
        // or the pool would hand this user out again within the same step (a replay).
        const now = new Date();
        user.lastStep = Math.max(user.lastStep, stepOf(now.getTime()));
        const code = await totpCode(user.secret, now);
        if (!expect(rec, 'POST /tf-validate', await c.request('POST', '/tf-validate', { code }), 200)) return;
      }
      if (!expect(rec, 'GET /me', await c.request('GET', '/me'), 200)) return;
      if (!expect(rec, 'POST /logout', await c.request('POST', '/logout', {}), 200)) return;
      rec.ok('sign-in', performance.now() - started);
    },
  });
  for (const c of clients) c.close();
  const notes: string[] = [];
  if (!twoFactorSeen) notes.push('two-factor not available on this build: password-only sign-in (login → me → logout)');
  if (pool.waits) notes.push(`waited ${pool.waits}× for a fresh TOTP step (user pool too small for the rate)`);
  return loopRow(opts, meter, rec, seconds, {
    scenario: 'signin',
    unit: twoFactorSeen ? 'sign-in (4 requests)' : 'sign-in (3 requests)',
    op: 'sign-in',
    notes,
  });
}

/** A six-digit code that no step of the acceptance window (±4 steps here, ±49 at most) produces. */
async function wrongCode(secret: string): Promise<string> {
  const now = Date.now();
  const valid = new Set<string>();
  for (let k = -5; k <= 5; k++) valid.add(await totpCode(secret, new Date(now + k * 30_000)));
  for (;;) {
    const c = String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

interface Pending {
  user: BenchUser;
  cookie: string;
  csrf: string;
  code: string;
}

/** Signs in with the password, up to the second factor, and keeps the session for later. */
async function beginSignin(c: Client, user: BenchUser): Promise<Pending | string> {
  c.clear();
  const login = await c.request('POST', '/login', { email: user.email, password: user.password });
  if (login.status !== 200) return `POST /login ${login.status} ${String(login.body.response?.error_code ?? '')}`;
  if (login.body.response?.tf_required !== true) return 'login did not ask for a second factor';
  return { user, cookie: c.sessionCookie, csrf: c.csrf, code: await wrongCode(user.secret!) };
}

/**
 * Wrong codes on pending sign-ins, as an attacker who knows the password does:
 * 4 × 400 TWO_FACTOR_INVALID_TOKEN, then 429 TWO_FACTOR_TOO_MANY_ATTEMPTS voids
 * the pending state and the attacker must sign in again (one password hash).
 *
 * What is timed is the rejections. The sign-ins that the cap forces are made
 * before the measured window (`pending` of them, at the same concurrency), so
 * the figure is what a wrong code costs us, not 1/5 of a password hash; when
 * the prepared ones run out, clients sign in inline and the report says how
 * often. Afterwards the users' failure counters must have grown by exactly
 * the number of wrong codes sent (`counters` reads them from the database).
 */
export async function validateWrongScenario(
  opts: RunOptions & {
    pending: number;
    /** The service voids a pending sign-in at its 5th wrong code (ours); false for a peer without a cap. */
    capped: boolean;
    counters?: () => Promise<number | null>;
  },
  users: BenchUser[],
): Promise<Row> {
  const base = new URL(opts.server.url);
  const clients = Array.from({ length: opts.clients }, () => new Client(base));
  let next = 0;
  const failuresBefore = await opts.counters?.();
  const prepared: Pending[] = [];
  const t0 = performance.now();
  let prepareErrors = 0;
  const prepareFailures = new Map<string, number>();
  await Promise.all(
    clients.map(async (c) => {
      while (prepared.length + prepareErrors < opts.pending) {
        const p = await beginSignin(c, users[next++ % users.length]!);
        if (typeof p === 'string') {
          prepareErrors++;
          prepareFailures.set(p, (prepareFailures.get(p) ?? 0) + 1);
        } else prepared.push(p);
      }
    }),
  );
  const prepareSeconds = (performance.now() - t0) / 1000;
  let inline = 0;
  let sent = 0;
  const meter = new Meter(opts.server);
  const { rec, seconds } = await runLoop({
    clients: opts.clients,
    seconds: opts.seconds,
    warmupSeconds: opts.warmupSeconds,
    onMeasureStart: () => meter.start(),
    onMeasureEnd: () => meter.end(),
    iteration: async (i, rec) => {
      const c = clients[i]!;
      let p = rec.measuring ? prepared.pop() : undefined;
      if (!p) {
        // Warm-up, or the prepared ones ran out: sign in here (and pay the hash now).
        if (rec.measuring) inline++;
        const begun = await beginSignin(c, users[next++ % users.length]!);
        if (typeof begun === 'string') return void rec.error(begun);
        p = begun;
      }
      c.resume(p);
      for (let attempt = 1; attempt <= 5; attempt++) {
        const a = await c.request('POST', '/tf-validate', { code: p.code });
        sent++;
        rec.request();
        const key = a.body.response?.error_code;
        const last = a.status === 429 && key === 'TWO_FACTOR_TOO_MANY_ATTEMPTS';
        // A peer without our error codes (bench/compare/) answers a wrong code with a plain 400.
        const wrong = a.status === 400 && (key === 'TWO_FACTOR_INVALID_TOKEN' || !opts.capped);
        if (wrong || (last && opts.capped)) {
          rec.ok('rejection', a.ms);
        } else {
          rec.error(`POST /tf-validate ${a.status} ${String(key)}`);
          return;
        }
        if (last) return;
      }
      // Without a cap the next pending sign-in takes over after five, as the cap makes us do.
      if (opts.capped) rec.error('no 429 after 5 wrong codes');
    },
  });
  for (const c of clients) c.close();
  const notes = [
    `${opts.pending - prepareErrors} pending sign-ins prepared before the window in ${prepareSeconds.toFixed(1)} s (${prepareErrors} failed${prepareErrors ? `: ${JSON.stringify(Object.fromEntries(prepareFailures))}` : ''}); ${inline} signed in inline during it`,
  ];
  const failuresAfter = await opts.counters?.();
  if (failuresBefore === null || failuresAfter === null)
    notes.push('failure counters: not checked, a user was locked (a lock resets the count)');
  else if (failuresBefore !== undefined && failuresAfter !== undefined) {
    const counted = failuresAfter - failuresBefore;
    notes.push(
      `failure counters: ${counted} charged for ${sent} wrong codes sent (${counted === sent ? 'exact' : 'NOT EXACT'})`,
    );
    if (counted !== sent) rec.errors.set('failure counters not exact', Math.abs(counted - sent));
  }
  return loopRow(opts, meter, rec, seconds, {
    scenario: 'validate-wrong',
    unit: 'rejected code',
    op: 'rejection',
    notes,
    perRequestOf: 'all',
  });
}

export interface HashResult {
  options: typeof PASSWORD_HASH_OPTIONS;
  cores: number;
  hashMs: Summary;
  verifyMs: Summary;
  /** cores ÷ single hash time: the sign-ins per second this machine can afford. */
  limitPerSecond: number;
  /** measured: `cores` verifications in parallel, for the same time. */
  parallelVerifyPerSecond: number;
}

/** The time of one password hash with the configured parameters, and the machine's sign-in limit. */
export async function hashScenario(samples = 40): Promise<HashResult> {
  const cores = os.availableParallelism();
  const stored = await hashPassword('warm up the allocator');
  const hashes: number[] = [];
  const verifies: number[] = [];
  for (let i = 0; i < samples; i++) {
    let t = performance.now();
    await hashPassword(`bench password ${i}`);
    hashes.push(performance.now() - t);
    t = performance.now();
    await verifyPassword(stored, `bench password ${i}`);
    verifies.push(performance.now() - t);
  }
  const hashMs = summarize(hashes, 1);
  const verifyMs = summarize(verifies, 1);
  const started = performance.now();
  let done = 0;
  const until = started + 3000;
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (performance.now() < until) {
        await verifyPassword(stored, 'bench password');
        done++;
      }
    }),
  );
  const parallelVerifyPerSecond = done / ((performance.now() - started) / 1000);
  return {
    options: PASSWORD_HASH_OPTIONS,
    cores,
    hashMs,
    verifyMs,
    limitPerSecond: (cores * 1000) / hashMs.p50,
    parallelVerifyPerSecond,
  };
}
