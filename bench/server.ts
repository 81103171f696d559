/**
 * Starts the service under test (the compiled build, as in production) and
 * watches it: peak RSS from /proc, statements sent to Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidsNamed } from './cpu.js';

export interface ServerHandle {
  url: string;
  pid: number | null;
  /** The processes whose CPU is the service's: our one process, or a peer's workers (bench/compare/). */
  pids(): number[];
  /** Statements the service has sent to the database so far, or null if nobody can tell. */
  queries(): Promise<number | null>;
  /** Highest RSS seen since the last resetPeak (polled every 100 ms), in MiB. */
  peakRssMiB(): number | null;
  /** The kernel's high-water mark of the process's RSS (VmHWM), in MiB. */
  hwmMiB(): number | null;
  rssNowMiB(): number | null;
  resetPeak(): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  entry: string[];
  port: number;
  env: Record<string, string>;
  log: (line: string) => void;
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The METRICS_TOKEN bench/run.ts gives the service (another service's: the METRICS_TOKEN of this environment). */
export const BENCH_METRICS_TOKEN = process.env.METRICS_TOKEN ?? 'bench-metrics-token-0123456789';

async function metricsQueries(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } });
    if (!res.ok) return null;
    const m = /^tfa_db_queries_total(?:\{[^}]*\})?\s+([0-9.e+]+)/m.exec(await res.text());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`service at ${url} not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A service somebody else runs (--url): no RSS, round trips only through /metrics. */
export function targetServer(url: string): ServerHandle {
  return {
    url,
    pid: null,
    pids: () => [],
    queries: () => metricsQueries(url),
    peakRssMiB: () => null,
    hwmMiB: () => null,
    rssNowMiB: () => null,
    resetPeak: () => {},
    stop: async () => {},
  };
}

/**
 * A peer somebody else started (bench/compare/, --peer): its CPU and memory are
 * those of every process named `comm` (gunicorn's master and workers), RSS summed
 * over them; it has no statement counter.
 */
export function peerServer(url: string, comm: string): ServerHandle {
  const totalKiB = (field: 'VmHWM' | 'VmRSS'): number | null => {
    const pids = pidsNamed(comm);
    return pids.length === 0 ? null : pids.reduce((sum, pid) => sum + (statusKiB(pid, field) ?? 0), 0);
  };
  let peakKiB = 0;
  const poll = setInterval(() => {
    peakKiB = Math.max(peakKiB, totalKiB('VmRSS') ?? 0);
  }, 100);
  poll.unref();
  const mib = (kib: number | null): number | null => (kib === null ? null : kib / 1024);
  return {
    url,
    pid: null,
    pids: () => pidsNamed(comm),
    queries: async () => null,
    peakRssMiB: () => (peakKiB ? peakKiB / 1024 : null),
    // Each worker's own high-water mark, summed: an upper bound of the peak they held together.
    hwmMiB: () => mib(totalKiB('VmHWM')),
    rssNowMiB: () => mib(totalKiB('VmRSS')),
    resetPeak: () => {
      peakKiB = totalKiB('VmRSS') ?? 0;
    },
    stop: async () => clearInterval(poll),
  };
}

export async function startServer(opts: StartOptions): Promise<ServerHandle> {
  const url = `http://127.0.0.1:${opts.port}`;
  const child: ChildProcess = spawn(process.execPath, ['--import', './bench/count-queries.mjs', ...opts.entry], {
    env: { ...process.env, ...opts.env, PORT: String(opts.port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid!;
  let exited = false;
  child.on('exit', (code, signal) => {
    exited = true;
    if (code !== 0 && signal !== 'SIGTERM') opts.log(`service exited (code ${code}, signal ${signal})`);
  });
  let peakKiB = 0;
  const poll = setInterval(() => {
    peakKiB = Math.max(peakKiB, statusKiB(pid, 'VmRSS') ?? 0);
  }, 100);
  poll.unref();
  await waitReady(url);
  const useMetrics = (await metricsQueries(url)) !== null;
  opts.log(
    `service pid ${pid} ready at ${url}; DB round trips from ${useMetrics ? 'GET /metrics tfa_db_queries_total' : 'the bench preload (pg.Client.query calls)'}`,
  );

  const ipcQueries = (): Promise<number | null> =>
    new Promise((resolve) => {
      if (exited || !child.connected) return resolve(null);
      const timer = setTimeout(() => resolve(null), 2000);
      child.once('message', (m: { queries?: number }) => {
        clearTimeout(timer);
        resolve(typeof m.queries === 'number' ? m.queries : null);
      });
      child.send('bench:queries');
    });

  return {
    url,
    pid,
    pids: () => [pid],
    queries: () => (useMetrics ? metricsQueries(url) : ipcQueries()),
    peakRssMiB: () => (peakKiB ? peakKiB / 1024 : null),
    hwmMiB: () => {
      const kib = statusKiB(pid, 'VmHWM');
      return kib === null ? null : kib / 1024;
    },
    rssNowMiB: () => {
      const kib = statusKiB(pid, 'VmRSS');
      return kib === null ? null : kib / 1024;
    },
    resetPeak: () => {
      peakKiB = statusKiB(pid, 'VmRSS') ?? 0;
    },
    stop: async () => {
      clearInterval(poll);
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(15_000)]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
