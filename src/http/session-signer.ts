import { createHmac, createSecretKey } from 'node:crypto';

/** Unpadded standard base64 of a SHA-256 HMAC (32 bytes → 44 characters, the last one "="). */
const MAC_LENGTH = 43;
/** Ids whose signature verified, kept so that their next request skips the HMAC: ~200 bytes each. */
const REMEMBERED = 10_000;

export interface CookieSigner {
  sign(value: string): string;
  /** The signed value, or null when the signature does not verify. */
  unsign(signed: string): string | null;
}

/** Equal-length strings compared in time that depends only on their length. */
function sameString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The session cookie's signer: the same cookies as @fastify/cookie's Signer with
 * one secret and SHA-256 (`id.` + HMAC in base64 without padding), so cookies
 * issued before stay valid. The key is imported once, and the padding is cut
 * without a regex.
 *
 * Every request with a session cookie checks it, and the HMAC was 7 % of a
 * `GET /me` (BENCHMARKS.md). So the MAC of an id whose cookie verified is
 * remembered, and the next cookie naming that id is compared with it, in
 * constant time, as with a fresh MAC. Only verified ids are remembered: a
 * forged cookie costs an HMAC and adds nothing.
 */
export function createSessionSigner(secret: string): CookieSigner {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const mac = (value: string): string =>
    createHmac('sha256', key).update(value, 'utf8').digest('base64').slice(0, MAC_LENGTH);
  const verified = new Map<string, string>();

  return {
    sign: (value) => `${value}.${verified.get(value) ?? mac(value)}`,
    unsign(signed) {
      const dot = signed.lastIndexOf('.');
      if (dot === -1 || dot === signed.length - 1) return null;
      const value = signed.slice(0, dot);
      const known = verified.get(value);
      const expected = known ?? mac(value);
      if (!sameString(signed.slice(dot + 1), expected)) return null;
      if (known === undefined) {
        if (verified.size >= REMEMBERED) verified.delete(verified.keys().next().value!);
        verified.set(value, expected);
      }
      return value;
    },
  };
}
