import { generate, generateSecret, verifySync } from 'otplib';
import { normalizeCodeInput } from './otp-code.js';
import { nodeCrypto } from './totp-crypto.js';

/**
 * RFC 6238 TOTP as authenticator apps implement it: HMAC-SHA-1, 6 digits, 30 s
 * steps from the Unix epoch (otplib's defaults, stated here on purpose). otplib
 * takes epochs in SECONDS; milliseconds are silently accepted and give wrong codes.
 */
const PERIOD_SECONDS = 30;
// 160 bits: RFC 4226 §4 R6 recommends it, and base32 of 20 bytes needs no padding.
const SECRET_BYTES = 20;
/** otplib refuses windows wider than 98 steps in total (its MAX_WINDOW guardrail). */
export const MAX_TOTP_WINDOW_SECONDS = 49 * PERIOD_SECONDS;
export const DEFAULT_TOTP_WINDOW_SECONDS = 120;

export type TotpVerification = { ok: true; timeStep: number } | { ok: false };

export interface VerifyTotpInput {
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

/** The time step `at` falls in: what verifyTotp's timeStep and afterTimeStep are counted in. */
export function totpTimeStep(at: Date): number {
  return Math.floor(epochSeconds(at) / PERIOD_SECONDS);
}

/**
 * Checks a code against the window around `now`. Never throws for what a client
 * sent (otplib throws on anything but exactly six digits, so the format is checked
 * first); throws RangeError for a bad window, time or afterTimeStep, which are bugs.
 * On success, store `timeStep` as the user's new afterTimeStep, compare-and-set.
 */
export async function verifyTotp(input: VerifyTotpInput): Promise<TotpVerification> {
  const windowSeconds = input.windowSeconds ?? DEFAULT_TOTP_WINDOW_SECONDS;
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 0 || windowSeconds > MAX_TOTP_WINDOW_SECONDS) {
    throw new RangeError(`TOTP window must be whole seconds from 0 to ${MAX_TOTP_WINDOW_SECONDS}`);
  }
  const afterTimeStep = input.afterTimeStep ?? undefined;
  if (afterTimeStep !== undefined && (!Number.isSafeInteger(afterTimeStep) || afterTimeStep < 0)) {
    throw new RangeError('afterTimeStep must be a non-negative integer');
  }
  const epoch = epochSeconds(input.now);
  const token = typeof input.code === 'string' ? normalizeCodeInput(input.code) : null;
  if (token === null) return { ok: false };
  // Every step in the window is already used; otplib would throw if afterTimeStep lies beyond it.
  if (afterTimeStep !== undefined && afterTimeStep >= Math.floor((epoch + windowSeconds) / PERIOD_SECONDS)) {
    return { ok: false };
  }
  const result = verifySync({
    secret: input.secret,
    token,
    epoch,
    epochTolerance: windowSeconds,
    afterTimeStep,
    crypto: nodeCrypto,
  });
  return result.valid && 'timeStep' in result ? { ok: true, timeStep: result.timeStep } : { ok: false };
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
