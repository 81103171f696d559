import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

/** Verified ids kept for the re-sign that follows; bounded in case a lookup never gets that far. */
const MAX_REMEMBERED = 1024;
/** Unpadded standard base64 of a SHA-256 HMAC (32 bytes → 44 characters, the last one "="). */
const MAC_LENGTH = 43;

export interface CookieSigner {
  sign(value: string): string;
  unsign(signed: string): { valid: boolean; renew: boolean; value: string | null };
}

/**
 * The session cookie's signer: the same cookies as @fastify/cookie's Signer with
 * one secret and SHA-256 (`id.` + HMAC in base64 without padding), so cookies
 * issued before stay valid, at less cost per request:
 *
 * - @fastify/session unsigns the cookie, loads the session, and then its Session
 *   constructor signs the very same id again. The signature just verified is the
 *   one signing would compute, so it is handed back instead of a second HMAC.
 *   Only ids whose signature was checked are remembered, each until its re-sign.
 * - The key is imported once, and the padding is cut without a regex.
 */
export function createSessionSigner(secret: string): CookieSigner {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const mac = (value: string): string =>
    createHmac('sha256', key).update(value, 'utf8').digest('base64').slice(0, MAC_LENGTH);
  const verified = new Map<string, string>();

  return {
    sign(value) {
      const signed = verified.get(value);
      if (signed !== undefined) {
        verified.delete(value);
        return signed;
      }
      return `${value}.${mac(value)}`;
    },
    unsign(signed) {
      const dot = signed.lastIndexOf('.');
      if (dot === -1 || dot === signed.length - 1) return { valid: false, renew: false, value: null };
      const value = signed.slice(0, dot);
      const actual = Buffer.from(signed.slice(dot + 1));
      const expected = Buffer.from(mac(value));
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
        return { valid: false, renew: false, value: null };
      if (verified.size >= MAX_REMEMBERED) verified.delete(verified.keys().next().value!);
      verified.set(value, signed);
      return { valid: true, renew: false, value };
    },
  };
}
