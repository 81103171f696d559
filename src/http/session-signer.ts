import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

/** Unpadded standard base64 of a SHA-256 HMAC (32 bytes → 44 characters, the last one "="). */
const MAC_LENGTH = 43;

export interface CookieSigner {
  sign(value: string): string;
  /** The signed value, or null when the signature does not verify. */
  unsign(signed: string): string | null;
}

/**
 * The session cookie's signer: the same cookies as @fastify/cookie's Signer with
 * one secret and SHA-256 (`id.` + HMAC in base64 without padding), so cookies
 * issued before stay valid. The key is imported once, and the padding is cut
 * without a regex. A request signs only when it writes a new session: a loaded
 * session's cookie is the one it came with (http/session.ts).
 */
export function createSessionSigner(secret: string): CookieSigner {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const mac = (value: string): string =>
    createHmac('sha256', key).update(value, 'utf8').digest('base64').slice(0, MAC_LENGTH);

  return {
    sign: (value) => `${value}.${mac(value)}`,
    unsign(signed) {
      const dot = signed.lastIndexOf('.');
      if (dot === -1 || dot === signed.length - 1) return null;
      const value = signed.slice(0, dot);
      const actual = Buffer.from(signed.slice(dot + 1));
      const expected = Buffer.from(mac(value));
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
      return value;
    },
  };
}
