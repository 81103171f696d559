import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// OWASP's argon2id baseline (19 MiB, t=2, p=1): ~10-15 ms a hash on this machine,
// costly for a guessing attacker and cheap enough for a sign-in.
// algorithm 2 is Argon2id (a const enum in the typings, which verbatimModuleSyntax cannot import).
const OPTIONS = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Longer inputs are refused before hashing, so nobody can make us hash megabytes (SPEC §2). */
export const PASSWORD_MAX_LENGTH = 4096;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
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
