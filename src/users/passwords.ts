import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

// OWASP's argon2id baseline (19 MiB, t=2, p=1): ~10-15 ms a hash on this machine,
// costly for a guessing attacker and cheap enough for a sign-in.
// algorithm 2 is Argon2id (a const enum in the typings, which verbatimModuleSyntax cannot import).
const OPTIONS = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Longer inputs are refused before hashing, so nobody can make us hash megabytes (docs/architecture.md, Sessions). */
export const PASSWORD_MAX_LENGTH = 4096;

/**
 * At most one hash per core at a time. Each takes 19 MiB and a whole core, so
 * libuv's 4 threads on a 2-core host would add 38 MiB of memory and no
 * throughput; the rest wait their turn here, in arrival order.
 */
const HASH_SLOTS = Math.max(1, availableParallelism());
let busy = 0;
const queue: Array<() => void> = [];

async function inSlot<T>(work: () => Promise<T>): Promise<T> {
  if (busy >= HASH_SLOTS) await new Promise<void>((resolve) => queue.push(resolve));
  else busy++;
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line, or is freed.
    const next = queue.shift();
    if (next) next();
    else busy--;
  }
}

/** Hashes running and waiting now (tests; a gauge if anybody wants one). */
export function passwordHashLoad(): { running: number; waiting: number; slots: number } {
  return { running: busy, waiting: queue.length, slots: HASH_SLOTS };
}

export function hashPassword(password: string): Promise<string> {
  return inSlot(() => hash(password, OPTIONS));
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await inSlot(() => verify(stored, password));
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * Verifies against a throwaway hash so an unknown e-mail costs the same time as
 * a wrong password: the answer must not tell whether the account exists.
 */
export async function burnPasswordCheck(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('base64'));
  await verifyPassword(await dummy, password);
  return false;
}

export { OPTIONS as PASSWORD_HASH_OPTIONS };
