import { randomInt } from 'node:crypto';

const CODE_SPACE = 1_000_000;
const SIX_DIGITS = /^[0-9]{6}$/;
// Authenticator apps show "123 456" and pasted codes often carry stray whitespace.
const WHITESPACE = /\s+/g;

/** A one-time code for e-mail/SMS: uniform over 000000–999999 (randomInt has no modulo bias). */
export function randomOtpCode(): string {
  return randomInt(0, CODE_SPACE).toString().padStart(6, '0');
}

/**
 * The `code` field as the client sent it → exactly six ASCII digits, or null.
 * A JSON number is zero-padded (openapi.yaml: "a 6-digit code may be sent as a JSON
 * number", so 12345 means "012345"); whitespace anywhere in a string is dropped.
 * Everything else (booleans, objects, fractions, negatives, 7 digits) is null.
 */
export function normalizeCodeInput(value: unknown): string | null {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value < CODE_SPACE ? value.toString().padStart(6, '0') : null;
  }
  // Cap before the regex work: no honest code needs 64 characters of padding.
  if (typeof value !== 'string' || value.length > 64) return null;
  const code = value.replace(WHITESPACE, '');
  return SIX_DIGITS.test(code) ? code : null;
}
