import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest for TOTP secrets (docs/architecture.md, Secrets at rest): AES-256-GCM, one key per numeric
 * tag from SECURITY_TOTP_SECRETS. The highest tag encrypts and every tag decrypts,
 * so rotation is "add a higher tag, run keys:rotate, later drop the old one".
 *
 * Box format: `v1.<tag>.<iv>.<ciphertext+gcm tag>` (base64url). The version and key
 * tag are bound into the associated data together with the caller's AAD (the user
 * id), so a box copied to another row, or with its header edited, fails to open.
 */
export interface SecretBox {
  encrypt(plain: string, aad: string): string;
  decrypt(box: string, aad: string): string;
  /** True when the box was sealed with an older key than the current one. */
  needsRotation(box: string): boolean;
  /** The tag new boxes are sealed with (the highest one). */
  readonly currentTag: string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = 'v1';
const HKDF_INFO = 'tfa-service totp-secret v1';
// NIST SP 800-38D §8.2: 96-bit random IVs; with one key, fine for far more than 2^32 boxes.
const IV_BYTES = 12;
const AUTH_TAG_BYTES = 16;
// Canonical decimal, so "1" and "01" can't name two keys and a box's tag matches exactly.
const TAG_PATTERN = /^(0|[1-9]\d{0,8})$/;
// HKDF does not stretch a weak input; refuse secrets too short to be random.
export const MIN_SECRET_LENGTH = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

export function createSecretBox(keys: Readonly<Record<string, string>>): SecretBox {
  const derived = deriveKeys(keys);
  const currentTag = [...derived.keys()].reduce((a, b) => (Number(b) > Number(a) ? b : a));
  const currentKey = keyFor(derived, currentTag);

  return {
    currentTag,
    encrypt(plain, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv, { authTagLength: AUTH_TAG_BYTES });
      cipher.setAAD(associatedData(currentTag, aad));
      const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, currentTag, iv.toString('base64url'), sealed.toString('base64url')].join('.');
    },
    decrypt(box, aad) {
      const { tag, iv, sealed } = parseBox(box);
      const decipher = createDecipheriv('aes-256-gcm', keyFor(derived, tag), iv, { authTagLength: AUTH_TAG_BYTES });
      decipher.setAAD(associatedData(tag, aad));
      decipher.setAuthTag(sealed.subarray(sealed.length - AUTH_TAG_BYTES));
      try {
        const plain = Buffer.concat([
          decipher.update(sealed.subarray(0, sealed.length - AUTH_TAG_BYTES)),
          decipher.final(),
        ]);
        return plain.toString('utf8');
      } catch {
        throw new SecretBoxError('secret box failed authentication (tampered, or sealed for another record)');
      }
    },
    needsRotation(box) {
      return parseBox(box).tag !== currentTag;
    },
  };
}

function deriveKeys(keys: Readonly<Record<string, string>>): Map<string, Buffer> {
  const entries = Object.entries(keys);
  if (entries.length === 0) throw new SecretBoxError('SECURITY_TOTP_SECRETS must hold at least one key');
  const derived = new Map<string, Buffer>();
  for (const [tag, secret] of entries) {
    if (!TAG_PATTERN.test(tag))
      throw new SecretBoxError(`SECURITY_TOTP_SECRETS: key tag "${tag}" is not a plain number`);
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
      throw new SecretBoxError(
        `SECURITY_TOTP_SECRETS: key "${tag}" must be a string of at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
    derived.set(tag, Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32)));
  }
  return derived;
}

function keyFor(derived: Map<string, Buffer>, tag: string): Buffer {
  const key = derived.get(tag);
  if (!key) throw new SecretBoxError(`secret box uses key tag "${tag}", which SECURITY_TOTP_SECRETS does not hold`);
  return key;
}

// NUL separators: neither the version nor a numeric tag can contain one, so the encoding is unambiguous.
function associatedData(tag: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}\0${tag}\0${aad}`, 'utf8');
}

function parseBox(box: string): { tag: string; iv: Buffer; sealed: Buffer } {
  const parts = typeof box === 'string' ? box.split('.') : [];
  const [version, tag, ivText, sealedText] = parts;
  if (parts.length !== 4 || version !== VERSION || tag === undefined || !TAG_PATTERN.test(tag)) {
    throw new SecretBoxError('not a v1 secret box');
  }
  if (ivText === undefined || sealedText === undefined || !B64URL.test(ivText) || !B64URL.test(sealedText)) {
    throw new SecretBoxError('secret box is malformed');
  }
  const iv = Buffer.from(ivText, 'base64url');
  const sealed = Buffer.from(sealedText, 'base64url');
  if (iv.length !== IV_BYTES || sealed.length < AUTH_TAG_BYTES) throw new SecretBoxError('secret box is malformed');
  return { tag, iv, sealed };
}

/** TOTP secrets are bound to their user (AES-GCM associated data, README "Abuse resistance"). */
export function secretAad(userId: number): string {
  return `user:${userId}`;
}
