/**
 * Who used the CPUs during a measurement: the service, the load generator
 * (this process), Postgres, and everything else on the machine. On a shared
 * machine the last one decides whether a figure means anything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Snapshot {
  at: number;
  busyTicks: number;
  server: number;
  /** The service's main thread alone: its event loop (the rest is libuv's pool, where the hashes run, and V8's helpers). */
  serverLoop: number;
  bench: number;
  postgres: number;
}

/** utime+stime; `children` adds the reaped children's (the postmaster's exited backends). */
function procTicks(pid: number | string, children = false): { ticks: number; comm: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]);
    return { ticks: children ? own + Number(f[13]) + Number(f[14]) : own, comm };
  } catch {
    return null;
  }
}

function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return f.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
}

function postgresTicks(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    // Backends that exit are counted in the postmaster's reaped-children time.
    const t = procTicks(pid, true);
    if (t && t.comm === 'postgres') sum += t.ticks;
  }
  return sum;
}

/** The service's processes: ours is one; a peer (bench/compare/) may run several workers. */
export function snapshot(servicePids: readonly number[]): Snapshot {
  let server = 0;
  let serverLoop = 0;
  for (const pid of servicePids) {
    server += procTicks(pid)?.ticks ?? 0;
    serverLoop += procTicks(`${pid}/task/${pid}`)?.ticks ?? 0;
  }
  return {
    at: performance.now(),
    busyTicks: machineBusyTicks(),
    server,
    serverLoop,
    bench: procTicks(process.pid)?.ticks ?? 0,
    postgres: postgresTicks(),
  };
}

/** The processes whose name (/proc/<pid>/comm) is `comm`, e.g. a peer's gunicorn master and workers. */
export function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (/^\d+$/.test(pid) && procTicks(pid)?.comm === comm) pids.push(Number(pid));
  }
  return pids;
}

/** Shares of the machine's cores in percent of one core (200 = both cores of a 2-core machine). */
export interface CpuShares {
  machine: number;
  server: number;
  serverLoop: number;
  bench: number;
  postgres: number;
  others: number;
}

export function shares(a: Snapshot, b: Snapshot): CpuShares {
  const ms = b.at - a.at;
  const pct = (ticks: number): number => (100 * ticks * TICK_MS) / ms;
  const machine = pct(b.busyTicks - a.busyTicks);
  const server = pct(b.server - a.server);
  const serverLoop = pct(b.serverLoop - a.serverLoop);
  const bench = pct(b.bench - a.bench);
  const postgres = pct(b.postgres - a.postgres);
  return { machine, server, serverLoop, bench, postgres, others: Math.max(0, machine - server - bench - postgres) };
}

/**
 * Waits (up to maxSeconds) until processes other than ours use less than
 * `limit` percent of one core over a second, so a scenario starts on a quiet machine.
 */
export async function waitQuiet(
  servicePids: readonly number[],
  limit: number,
  maxSeconds: number,
  log: (s: string) => void,
): Promise<number> {
  const until = performance.now() + maxSeconds * 1000;
  let others: number;
  for (;;) {
    const a = snapshot(servicePids);
    await sleep(1000);
    others = shares(a, snapshot(servicePids)).others;
    if (others < limit || performance.now() > until) break;
  }
  if (others >= limit)
    log(`machine still busy (${others.toFixed(0)}% of a core used by other processes); measuring anyway`);
  return others;
}

export const cores = (): number => os.availableParallelism();
