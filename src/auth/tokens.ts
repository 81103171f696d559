import { safeEqual, type KeyedHasher } from '../crypto/keyed-hash.js';

/**
 * Authentication tokens for other backend services (docs/architecture.md, Sessions): a signed,
 * expiring payload. The signature also covers the user's fs_uniquifier, so
 * rotating it (password change, reset) kills every token without a token table.
 */
interface TokenPayload {
  /** user id */
  u: number;
  /** issued at (the sign-in time, for freshness), seconds */
  i: number;
  /** expires at, seconds */
  e: number;
}

export function issueAuthToken(
  hmac: KeyedHasher,
  userId: number,
  fsUniquifier: string,
  authAt: Date,
  maxAgeSeconds: number,
): string {
  const i = Math.floor(authAt.getTime() / 1000);
  const payload = Buffer.from(JSON.stringify({ u: userId, i, e: i + maxAgeSeconds } satisfies TokenPayload)).toString(
    'base64url',
  );
  return `${payload}.${hmac.hash('auth-token', `${payload}.${fsUniquifier}`)}`;
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

/** Reads the claimed user id without trusting it; `verifyAuthToken` decides. */
export function peekAuthToken(token: string): TokenPayload | null {
  if (token.length > 512) return null;
  const [payload, sig] = token.split('.');
  if (!payload || !sig) return null;
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenPayload>;
    if (!isUserId(p.u) || !Number.isInteger(p.i) || !Number.isInteger(p.e)) return null;
    return p as TokenPayload;
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
  if (!safeEqual(hmac.hash('auth-token', `${payload}.${fsUniquifier}`), sig)) return null;
  if (p.e * 1000 <= now.getTime()) return null;
  return p;
}
