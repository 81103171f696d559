import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Keyed hashes for what is stored but never read back (docs/architecture.md, Secrets at rest): session ids,
 * one-time codes, recovery codes, remembered-device tokens. HMAC rather than a
 * plain hash because a 6-digit code or a 48-bit recovery code is trivially
 * brute-forced from an unkeyed hash in a leaked database.
 *
 * Each purpose gets its own HKDF sub-key, so a hash made for one use can never
 * be presented as another (a session-id hash is not a valid device-token hash).
 */
export interface KeyedHasher {
  /** base64url HMAC-SHA256 of `value` under the sub-key for `purpose`. */
  hash(purpose: string, value: string): string;
  /**
   * Same, over several values encoded unambiguously (a JSON array), for hashes
   * that bind a secret to its context, e.g. [code, pendingId, destination].
   */
  hashParts(purpose: string, parts: readonly string[]): string;
  /**
   * hash(purpose, ·) that remembers the last 10,000 values it hashed: for the
   * hashes every request recomputes from the same few ids (the session id's row
   * key, the CSRF token of an answer). One function per purpose.
   */
  memoized(purpose: string): (value: string) => string;
}

/** Values a memoized hash remembers, oldest forgotten first: ~150 bytes each. */
const MEMO_ENTRIES = 10_000;

const HKDF_INFO_PREFIX = 'tfa-service keyed-hash v1 ';
export const MIN_SECRET_KEY_LENGTH = 16;
const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function createKeyedHasher(secretKey: string): KeyedHasher {
  if (typeof secretKey !== 'string' || secretKey.length < MIN_SECRET_KEY_LENGTH) {
    throw new Error(`SECRET_KEY must be a string of at least ${MIN_SECRET_KEY_LENGTH} characters`);
  }
  const subKeys = new Map<string, Buffer>();
  const subKey = (purpose: string): Buffer => {
    let key = subKeys.get(purpose);
    if (!key) {
      // Purposes are code constants; the pattern keeps a caller from turning the cache into a leak.
      if (!PURPOSE_PATTERN.test(purpose)) throw new Error(`invalid keyed-hash purpose "${purpose}"`);
      key = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), HKDF_INFO_PREFIX + purpose, 32));
      subKeys.set(purpose, key);
    }
    return key;
  };
  const hash = (purpose: string, value: string): string =>
    createHmac('sha256', subKey(purpose)).update(value, 'utf8').digest('base64url');
  const memos = new Map<string, (value: string) => string>();
  const memoized = (purpose: string): ((value: string) => string) => {
    let memo = memos.get(purpose);
    if (!memo) {
      subKey(purpose); // the purpose is checked now, not on first use
      const known = new Map<string, string>();
      memo = (value) => {
        let h = known.get(value);
        if (h === undefined) {
          h = hash(purpose, value);
          if (known.size >= MEMO_ENTRIES) known.delete(known.keys().next().value!);
          known.set(value, h);
        }
        return h;
      };
      memos.set(purpose, memo);
    }
    return memo;
  };
  return {
    hash,
    hashParts: (purpose, parts) => hash(purpose, JSON.stringify(parts)),
    memoized,
  };
}

/** A random URL-safe token; at least 128 bits so it can't be guessed online. */
export function randomToken(bytes = 32): string {
  if (!Number.isSafeInteger(bytes) || bytes < 16 || bytes > 1024) {
    throw new RangeError('randomToken: bytes must be an integer from 16 to 1024');
  }
  return randomBytes(bytes).toString('base64url');
}

/**
 * Constant-time string equality. Both sides are hashed first so the comparison
 * also takes the same time when the lengths differ (timingSafeEqual would throw).
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
