import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a data folder (the content of DATA_DIR/owner.lock), and whether
 * that process still runs: see data-dir-lock.ts and the README's "One owner
 * per data folder".
 */
export type OwnerRole = 'service' | 'command line' | 'process';

export interface Holder {
  pid: number;
  /** Kernel start time of the process (Linux /proc/<pid>/stat field 22): a reused pid has another. */
  startTime: string | null;
  host: string;
  /** Linux boot id: a lock from before a reboot is stale whatever its pid. */
  bootId: string | null;
  role: OwnerRole;
  /** What the holder is doing, for the message (`npm start`, `users:create`). */
  what: string;
  since: string;
  nonce: string;
}

type State = 'alive' | 'dead';

/** Whether the process a lock names still runs; when this host cannot tell, it counts as running. */
export function holderState(h: Holder): State {
  if (h.pid === 0) return 'dead';
  if (h.pid < 0) return 'alive'; // unreadable and not empty: not ours to judge
  // Another host (a container sharing the volume): its pids mean nothing here, so assume it runs.
  if (h.host !== hostname()) return 'alive';
  const boot = bootId();
  if (h.bootId && boot && h.bootId !== boot) return 'dead';
  // Our own pid in a lock we do not hold: a previous life of this pid (a container restarted as PID 1).
  if (h.pid === process.pid) return 'dead';
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: alive, another user's.
  }
  const start = startTimeOf(h.pid);
  if (h.startTime && start && start !== h.startTime) return 'dead'; // the pid was reused
  return 'alive';
}

export function ownHolder(role: OwnerRole, what: string): Holder {
  return {
    pid: process.pid,
    startTime: startTimeOf(process.pid),
    host: hostname(),
    bootId: bootId(),
    role,
    what,
    since: new Date().toISOString(),
    nonce: randomBytes(12).toString('base64url'),
  };
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null; // not Linux: kill(pid, 0) alone decides
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}
