import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { holderState, ownHolder, type Holder, type OwnerRole } from './lock-holder.js';

/**
 * One owner per embedded data folder (README, "One owner per data folder").
 * Two processes on one PGlite folder silently lose writes and leave it
 * inconsistent, so whoever opens DATA_DIR (the service, the command line, a
 * test) first creates DATA_DIR/owner.lock with O_CREAT|O_EXCL ('wx') and keeps
 * it for its whole life. A second opener's exclusive create fails before it
 * writes anything, and it reports who holds the folder.
 *
 * A lock whose holder is gone (killed, crashed, the machine rebooted) is taken
 * over. Only a process holding the take-over mutex (an exclusive mkdir of
 * owner.lock.takeover) may delete a lock, and only after reading it again under
 * the mutex and finding the same dead holder (same nonce). Creators never
 * replace a file, so between that read and the unlink nobody else can change
 * it: two processes racing for one stale lock cannot both end up owners. A
 * process killed inside that tiny critical section leaves the mutex behind;
 * it is reported, never guessed away.
 */

export const LOCK_FILE = 'owner.lock';
/** The service's command channel (src/cli/channel.ts) lives next to the lock. */
export const SOCKET_FILE = 'cli.sock';

export type { Holder, OwnerRole };

export interface DataDirLock {
  dir: string;
  holder: Holder;
  release(): void;
}

/** The folder is owned by another live process; the message is the one line to show. */
export class DataDirBusyError extends Error {
  constructor(
    message: string,
    readonly holder: Holder | null,
  ) {
    super(message);
    this.name = 'DataDirBusyError';
  }
}

/** Folders this process holds: a second open in the same process is refused too. */
const heldHere = new Set<string>();
const TAKEOVER_ABANDONED_MS = 10_000;
/** An empty lock file is one being written (open and write are two steps); after this long its writer is gone. */
const EMPTY_LOCK_STALE_MS = 5_000;

export function claimDataDir(dataDir: string, role: OwnerRole, what: string): DataDirLock {
  const dir = resolve(dataDir);
  prepareDir(dir);
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(dir))
    throw new DataDirBusyError(`${dir} is already open in this process: open it once and share it`, null);
  const holder = ownHolder(role, what);
  for (let attempt = 0; attempt < 20; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const current = readLock(path);
      if (current && holderState(current.holder) === 'alive')
        throw new DataDirBusyError(busyLine(dir, current.holder), current.holder);
      if (current) takeOver(path, current.raw);
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(holder));
    } finally {
      closeSync(fd);
    }
    heldHere.add(dir);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      heldHere.delete(dir);
      process.removeListener('exit', release);
      // Only our own lock: a lock taken over after we were presumed dead is not ours to remove.
      if (readLock(path)?.holder.nonce === holder.nonce) unlinkQuietly(path);
    };
    // process.exit() skips every finally; the lock must not outlive the process needlessly.
    process.on('exit', release);
    return { dir, holder, release };
  }
  throw new DataDirBusyError(`could not take ${path}: other processes keep taking it over; try again`, null);
}

/** Who holds the folder now, if anyone alive does (the command line uses it to choose its way). */
export function liveHolder(dataDir: string): Holder | null {
  const current = readLock(join(resolve(dataDir), LOCK_FILE));
  return current && holderState(current.holder) === 'alive' ? current.holder : null;
}

function prepareDir(dir: string): void {
  // 0700: the lock, the command socket and the database are the owner's alone.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode;
  // Anyone who can write the folder can replace the lock or the socket (README, "Command line").
  if (mode & 0o002)
    throw new DataDirBusyError(
      `${dir} is writable by every user: run chmod o-w ${dir} (or choose another DATA_DIR)`,
      null,
    );
}

interface LockRead {
  raw: string;
  holder: Holder;
}

/** The lock's content; an empty file is being written, unless its writer died (then a dead holder). */
function readLock(path: string): LockRead | null {
  for (let i = 0; i < 50; i++) {
    let raw: string;
    let ageMs: number;
    try {
      const fd = openSync(path, 'r');
      try {
        ageMs = Date.now() - fstatSync(fd).mtimeMs;
        raw = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return { raw, holder: JSON.parse(raw) as Holder };
    } catch {
      if (raw !== '' || ageMs > EMPTY_LOCK_STALE_MS) return { raw, holder: unreadable(raw) };
      sleep(20);
    }
  }
  return null;
}

/** A lock we cannot read: dead if empty (its writer died between open and write), else a foreign file we leave alone. */
function unreadable(raw: string): Holder {
  return {
    pid: raw === '' ? 0 : -1,
    startTime: null,
    host: hostname(),
    bootId: null,
    role: 'process',
    what: 'unknown',
    since: '?',
    nonce: '',
  };
}

function takeOver(path: string, staleRaw: string): void {
  const mutex = `${path}.takeover`;
  try {
    mkdirSync(mutex, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // The other taker may finish (and remove the mutex) between our mkdir and this stat: then just look again.
    const mutexStat = statSync(mutex, { throwIfNoEntry: false });
    if (!mutexStat) return;
    if (Date.now() - mutexStat.mtimeMs > TAKEOVER_ABANDONED_MS)
      throw new DataDirBusyError(
        `${mutex} was left by a process that died while taking over a stale lock: remove it if no other process is starting on this folder`,
        null,
      );
    sleep(50); // another process is taking the stale lock over; then it owns the folder or gave up
    return;
  }
  try {
    const again = readLock(path);
    if (again && again.raw === staleRaw) unlinkQuietly(path);
  } finally {
    rmdirSync(mutex);
  }
}

function busyLine(dir: string, h: Holder): string {
  if (h.pid < 0) return `${join(dir, LOCK_FILE)} is not a lock this service wrote: remove it if no process uses ${dir}`;
  const who = `${h.role} (pid ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`})`;
  const advice =
    h.role === 'service' ? 'stop it first, or run commands through it with `npm run cli`' : 'wait for it to finish';
  return `${dir} is in use by the ${who}, \`${h.what}\` since ${h.since}: ${advice}`;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
