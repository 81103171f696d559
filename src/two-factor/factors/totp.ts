import { createHmac } from 'node:crypto';
import { generate, generateSecret } from 'otplib';
import { normalizeCodeInput } from './otp-code.js';

/**
 * RFC 6238 TOTP as authenticator apps implement it: HMAC-SHA-1, 6 digits, 30 s
 * steps from the Unix epoch (otplib's defaults, stated here on purpose). otplib
 * makes secrets and, for tests and tools, codes; it takes epochs in SECONDS
 * (milliseconds are silently accepted and give wrong codes). The service checks
 * codes itself (checkTotp): one pass over the window on node:crypto, ~20 µs for a
 * wrong code at the default window against ~110 µs through otplib's verify twice
 * (BENCHMARKS.md, wrong codes).
 */
const PERIOD_SECONDS = 30;
// 160 bits: RFC 4226 §4 R6 recommends it, and base32 of 20 bytes needs no padding.
const SECRET_BYTES = 20;
/**
 * The widest window taken: otplib's guardrail (98 steps in all) from when it
 * checked codes, kept so the setting's range stays the same.
 */
export const MAX_TOTP_WINDOW_SECONDS = 49 * PERIOD_SECONDS;
export const DEFAULT_TOTP_WINDOW_SECONDS = 120;

/** checkTotp's answer: `replay` when the code is right only for a step at or before afterTimeStep. */
export type TotpCheck = { ok: true; timeStep: number } | { ok: false; replay: boolean };

export interface TotpInput {
  /** base32 secret, as made by generateTotpSecret */
  secret: string;
  /** the code as the user typed it; whitespace is ignored, anything but 6 digits is refused */
  code: string;
  now: Date;
  /** SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY: codes from this many seconds either side of now are accepted */
  windowSeconds?: number;
  /** the last accepted time step for this user (docs/architecture.md, Budgets): this step and earlier ones are refused */
  afterTimeStep?: number | null;
}

/** A new 160-bit secret, base32 (RFC 4648, upper case, no padding). */
export function generateTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

/** The code an authenticator shows at `at` (tests and tools; the service only verifies). */
export function totpCode(secret: string, at: Date): Promise<string> {
  return generate({ secret, epoch: epochSeconds(at) });
}

/** The time step `at` falls in: what checkTotp's timeStep and afterTimeStep are counted in. */
export function totpTimeStep(at: Date): number {
  return Math.floor(epochSeconds(at) / PERIOD_SECONDS);
}

/**
 * Checks a code against the window around `now`, in one pass that also tells a
 * replay apart: the steps of the window are tried from the earliest, as otplib
 * does; the first right one after afterTimeStep is accepted, and a code right
 * only at or before it is a replay. Synchronous: nine HMAC-SHA-1 at the default
 * window. Never throws for what a client sent; throws RangeError for a bad
 * window, time or afterTimeStep, which are bugs. On success, store `timeStep` as
 * the user's new afterTimeStep, compare-and-set.
 */
export function checkTotp(input: TotpInput): TotpCheck {
  const windowSeconds = input.windowSeconds ?? DEFAULT_TOTP_WINDOW_SECONDS;
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 0 || windowSeconds > MAX_TOTP_WINDOW_SECONDS) {
    throw new RangeError(`TOTP window must be whole seconds from 0 to ${MAX_TOTP_WINDOW_SECONDS}`);
  }
  const after = input.afterTimeStep ?? null;
  if (after !== null && (!Number.isSafeInteger(after) || after < 0)) {
    throw new RangeError('afterTimeStep must be a non-negative integer');
  }
  const epoch = epochSeconds(input.now);
  const token = typeof input.code === 'string' ? normalizeCodeInput(input.code) : null;
  if (token === null) return { ok: false, replay: false };
  const wanted = Number(token);
  const key = base32Decode(input.secret);
  const first = Math.max(0, Math.floor((epoch - windowSeconds) / PERIOD_SECONDS));
  const last = Math.floor((epoch + windowSeconds) / PERIOD_SECONDS);
  let replay = false;
  for (let step = first; step <= last; step++) {
    // Six-digit numbers compared as numbers: no early exit that depends on which digit differs.
    if (hotp(key, step) !== wanted) continue;
    if (after === null || step > after) return { ok: true, timeStep: step };
    replay = true;
  }
  return { ok: false, replay };
}

/** RFC 4226 HOTP, six digits, as a number: HMAC-SHA-1 of the 8-byte counter, dynamically truncated. */
function hotp(key: Buffer, counter: number): number {
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[19]! & 0x0f;
  return (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (upper or lower case, padding ignored); anything else is a bug: secrets are ours. */
function base32Decode(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const digit = BASE32.indexOf(ch);
    if (digit < 0) throw new TypeError('TOTP secret must be base32');
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** tf_authr_key: the base32 secret in groups of four joined by "-" (as Flask-Security's pretty_key). */
export function formatAuthrKey(base32: string): string {
  return (base32.replace(/=+$/, '').match(/.{1,4}/g) ?? []).join('-');
}

/**
 * Key URI for authenticator apps (Google's Key Uri Format):
 * otpauth://totp/<issuer>:<username>?secret=…&issuer=…, issuer and username
 * percent-encoded in both the label and the query (spaces as %20, never "+").
 */
export function otpauthUri(params: { issuer: string; username: string; secret: string }): string {
  const { issuer, username, secret } = params;
  // Apps split the label at the first colon, so an issuer with one would swallow part of the account name.
  if (issuer === '' || issuer.includes(':')) throw new TypeError('TOTP issuer must be non-empty and contain no ":"');
  if (!/^[A-Z2-7]+$/.test(secret)) throw new TypeError('TOTP secret must be unpadded upper-case base32');
  const enc = encodeURIComponent;
  return `otpauth://totp/${enc(issuer)}:${enc(username)}?secret=${secret}&issuer=${enc(issuer)}`;
}

function epochSeconds(at: Date): number {
  const ms = at.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError('TOTP time must be a valid date after 1970');
  return Math.floor(ms / 1000);
}
