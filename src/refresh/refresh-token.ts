import { safeEqual, type KeyedHasher } from '../crypto/keyed-hash.js';

/**
 * A refresh token (README, "Tokens"): user id, family and generation, signed
 * with the user's fs_uniquifier like an auth token (a password change kills
 * it). The database row of the family decides whether it is current.
 */
export interface RefreshClaims {
  u: number;
  f: string;
  g: number;
}

const FAMILY = /^[0-9a-f]{32}$/;
const MAX_INT4 = 2 ** 31 - 1;

function sign(hmac: KeyedHasher, payload: string, fsUniquifier: string): string {
  return hmac.hash('refresh-token', `${payload}.${fsUniquifier}`);
}

export function encodeRefreshToken(hmac: KeyedHasher, claims: RefreshClaims, fsUniquifier: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${sign(hmac, payload, fsUniquifier)}`;
}

/** The claims, unverified (the family row names the user whose fs_uniquifier checks the signature). */
export function peekRefreshToken(token: string): RefreshClaims | null {
  if (token.length > 512) return null;
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined) return null;
  try {
    const c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<RefreshClaims> | null;
    if (!c || typeof c !== 'object') return null;
    const ok =
      Number.isInteger(c.u) &&
      c.u! >= 1 &&
      c.u! <= MAX_INT4 &&
      typeof c.f === 'string' &&
      FAMILY.test(c.f) &&
      Number.isInteger(c.g) &&
      c.g! >= 1 &&
      c.g! <= MAX_INT4;
    return ok ? (c as RefreshClaims) : null;
  } catch {
    return null;
  }
}

export function refreshSignatureValid(hmac: KeyedHasher, token: string, fsUniquifier: string): boolean {
  const [payload, sig] = token.split('.') as [string, string];
  return safeEqual(sign(hmac, payload, fsUniquifier), sig);
}
