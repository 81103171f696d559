import { randomBytes } from 'node:crypto';

/**
 * Recovery codes (openapi.yaml): `xxxx-xxxx-xxxx`, lower-case hex, 48 random bits each.
 * 48 bits is enough because guesses are online only, rate limited and counted
 * toward the per-user lockout (§4.2), and stored codes are keyed hashes (§5).
 *
 * Hash and compare the canonical form from normalizeRecoveryCode (12 hex, no
 * dashes), never the display form, so "ABCD EFGH..." typed by a user matches.
 */
const CODE_BYTES = 6;
const CANONICAL = /^[0-9a-f]{12}$/;
const IGNORED = /[\s-]+/g;
export const MAX_RECOVERY_CODES = 100;

export function generateRecoveryCodes(n: number): string[] {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RECOVERY_CODES) {
    throw new RangeError(`recovery code count must be an integer from 1 to ${MAX_RECOVERY_CODES}`);
  }
  const codes = new Set<string>();
  // A repeat among a handful of 48-bit codes is next to impossible, but two equal codes would be one code.
  while (codes.size < n) codes.add(formatRecoveryCode(randomBytes(CODE_BYTES).toString('hex')));
  return [...codes];
}

/** User input → the canonical 12 lower-case hex characters, or null. Case, spaces and dashes are ignored. */
export function normalizeRecoveryCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const code = input.replace(IGNORED, '').toLowerCase();
  return CANONICAL.test(code) ? code : null;
}

/** Canonical form → the display form `xxxx-xxxx-xxxx`. */
export function formatRecoveryCode(canonical: string): string {
  if (!CANONICAL.test(canonical)) throw new TypeError('not a canonical recovery code');
  return `${canonical.slice(0, 4)}-${canonical.slice(4, 8)}-${canonical.slice(8)}`;
}
