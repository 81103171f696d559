import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Keyed hashing for everything we must recognise but never store in clear
 * (SPEC §5): session ids, CSRF tokens, auth-token signatures. Each purpose gets
 * its own sub-key (HKDF), so a value hashed for one use never matches another.
 */
export class Hmac {
  private readonly keys = new Map<string, Buffer>();
  constructor(private readonly secret: string) {}

  private key(purpose: string): Buffer {
    let k = this.keys.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.secret, 'tfa-service', purpose, 32));
      this.keys.set(purpose, k);
    }
    return k;
  }

  sign(purpose: string, value: string): string {
    return createHmac('sha256', this.key(purpose)).update(value).digest('base64url');
  }

  verify(purpose: string, value: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(purpose, value));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
