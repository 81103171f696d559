import { safeEqual, type KeyedHasher } from '../crypto/keyed-hash.js';

/**
 * Authentication tokens for other backend services (docs/backend-services.md):
 * a signed, expiring payload. The signature also covers the user's
 * fs_uniquifier, so rotating it (password change, reset) kills every token.
 * A token with a token id (`t`) also needs its auth_tokens row to be live
 * (not revoked, not expired): that is what signing out revokes
 * (auth/token-auth.ts). Without `t` it is Flask-Security's stateless token
 * (SECURITY_TOKEN_STATELESS=true).
 */
export interface TokenPayload {
  /** user id */
  u: number;
  /** issued at (the sign-in time, for freshness), seconds */
  i: number;
  /** expires at, seconds */
  e: number;
  /** token id: its auth_tokens row */
  t?: string;
  /** how the sign-in was made (authn_methods) */
  m?: string[];
  /** when the second factor was passed, seconds */
  f?: number;
}

export interface TokenClaims {
  userId: number;
  authAt: Date;
  expiresAt: Date;
  tokenId?: string | undefined;
  methods?: string[] | undefined;
  tfAt?: Date | null | undefined;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

function sign(hmac: KeyedHasher, payload: string, fsUniquifier: string): string {
  return hmac.hash('auth-token', `${payload}.${fsUniquifier}`);
}

export function encodeAuthToken(hmac: KeyedHasher, claims: TokenClaims, fsUniquifier: string): string {
  const p: TokenPayload = { u: claims.userId, i: seconds(claims.authAt), e: seconds(claims.expiresAt) };
  if (claims.tokenId !== undefined) p.t = claims.tokenId;
  if (claims.methods !== undefined) p.m = claims.methods;
  if (claims.tfAt) p.f = seconds(claims.tfAt);
  const payload = Buffer.from(JSON.stringify(p)).toString('base64url');
  return `${payload}.${sign(hmac, payload, fsUniquifier)}`;
}

/** The stateless token of before (kept for callers that issue one directly). */
export function issueAuthToken(
  hmac: KeyedHasher,
  userId: number,
  fsUniquifier: string,
  authAt: Date,
  maxAgeSeconds: number,
): string {
  const expiresAt = new Date((seconds(authAt) + maxAgeSeconds) * 1000);
  return encodeAuthToken(hmac, { userId, authAt, expiresAt }, fsUniquifier);
}

/**
 * users.id is a Postgres `integer` (serial): a claimed id outside 1..2^31-1
 * (2147483648, 1e21, -1) can name nobody, and sent to the database it is an
 * error (SQLSTATE 22003) instead of "no such user". Unsigned, the claim is
 * anyone's to forge, so it is refused here like any token that does not verify.
 */
const MAX_INT4 = 2 ** 31 - 1;
function isUserId(u: unknown): u is number {
  return Number.isInteger(u) && (u as number) >= 1 && (u as number) <= MAX_INT4;
}

/** Token ids are 32 hex characters (auth_tokens.id varchar(32)); anything else names no row. */
const TOKEN_ID = /^[0-9a-f]{32}$/;

function wellFormed(p: Partial<TokenPayload>): p is TokenPayload {
  if (!isUserId(p.u) || !Number.isInteger(p.i) || !Number.isInteger(p.e)) return false;
  if (p.t !== undefined && (typeof p.t !== 'string' || !TOKEN_ID.test(p.t))) return false;
  if (p.m !== undefined && (!Array.isArray(p.m) || p.m.some((m) => typeof m !== 'string'))) return false;
  return p.f === undefined || Number.isInteger(p.f);
}

/** Reads the claimed user id without trusting it; `verifyAuthToken` decides. */
export function peekAuthToken(token: string): TokenPayload | null {
  if (token.length > 1024) return null;
  const [payload, sig] = token.split('.');
  if (!payload || !sig) return null;
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenPayload>;
    return p !== null && typeof p === 'object' && wellFormed(p) ? p : null;
  } catch {
    return null;
  }
}

export function verifyAuthToken(
  hmac: KeyedHasher,
  token: string,
  fsUniquifier: string,
  now: Date,
): TokenPayload | null {
  const p = peekAuthToken(token);
  if (!p) return null;
  const [payload, sig] = token.split('.') as [string, string];
  if (!safeEqual(sign(hmac, payload, fsUniquifier), sig)) return null;
  if (p.e * 1000 <= now.getTime()) return null;
  return p;
}
