/**
 * A software security key for the tests: real WebAuthn objects, made the way an
 * authenticator and a browser make them (W3C WebAuthn Level 2, §6.1 authenticator data,
 * §6.5 attestation objects, §5.8.1 client data), so the service's verification
 * (@simplewebauthn/server, not mocked) checks real signatures. ES256 keys come from
 * node:crypto; the small CBOR encoder below writes only what these objects need.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | boolean;

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** RFC 8949 encoding of integers, byte and text strings, arrays, maps and booleans. */
export function cbor(value: Cbor): Buffer {
  if (typeof value === 'boolean') return Buffer.from([value ? 0xf5 : 0xf4]);
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const parts: Buffer[] = [head(5, value.size)];
  for (const [k, v] of value) parts.push(cbor(k), cbor(v));
  return Buffer.concat(parts);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64u = (data: Buffer | Uint8Array) => Buffer.from(data).toString('base64url');

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 };

export interface SoftOptions {
  /** The page's origin the "browser" writes into clientDataJSON. */
  origin: string;
  /** The RP id whose hash the authenticator writes (normally credential_options.rp.id). */
  rpId?: string;
  attestation?: 'none' | 'packed-self';
  userVerified?: boolean;
}

interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
interface RequestOptions {
  challenge: string;
  rpId?: string;
}

/** One authenticator holding one credential once registered. */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  /** The signature counter; tests may set it back to play a cloned key. */
  counter = 0;
  userHandle: string | undefined;

  constructor(private readonly opts: SoftOptions) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  /** COSE_Key (RFC 9053): EC2, ES256, P-256, x and y. */
  private coseKey(): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }

  private authData(rpId: string, flags: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter >>> 0);
    const uv = this.opts.userVerified ? FLAG.UV : 0;
    return Buffer.concat([sha256(rpId), Buffer.from([flags | FLAG.UP | uv]), count, attested ?? Buffer.alloc(0)]);
  }

  private clientData(type: string, challenge: string, origin?: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: origin ?? this.opts.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): the RegistrationResponseJSON a browser would send. */
  register(options: CreationOptions, overrides: { origin?: string; challenge?: string } = {}) {
    const rpId = this.opts.rpId ?? options.rp.id ?? '';
    this.userHandle = options.user.id;
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLen, this.credentialId, this.coseKey()]);
    const authData = this.authData(rpId, FLAG.AT, attested);
    const clientDataJSON = this.clientData(
      'webauthn.create',
      overrides.challenge ?? options.challenge,
      overrides.origin,
    );
    const attStmt =
      this.opts.attestation === 'packed-self'
        ? new Map<Cbor, Cbor>([
            ['alg', -7],
            ['sig', sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey)],
          ])
        : new Map<Cbor, Cbor>();
    const fmt = this.opts.attestation === 'packed-self' ? 'packed' : 'none';
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ['fmt', fmt],
        ['attStmt', attStmt],
        ['authData', authData],
      ]),
    );
    const response = { attestationObject: b64u(attestationObject), transports: ['usb'] };
    return {
      ...this.credential(clientDataJSON, response),
      clientExtensionResults: { credProps: { rk: false } },
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** navigator.credentials.get(): an AuthenticationResponseJSON; the counter goes up first, as a key's does. */
  assert(options: RequestOptions, overrides: { origin?: string; rpId?: string; keepCounter?: boolean } = {}) {
    if (!overrides.keepCounter) this.counter++;
    const rpId = overrides.rpId ?? this.opts.rpId ?? options.rpId ?? '';
    const authData = this.authData(rpId, 0);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    const response = {
      authenticatorData: b64u(authData),
      signature: b64u(signature),
      ...(this.userHandle ? { userHandle: this.userHandle } : {}),
    };
    return { ...this.credential(clientDataJSON, response), clientExtensionResults: {} };
  }

  /** The PublicKeyCredential JSON around an authenticator response. */
  private credential<R extends object>(clientDataJSON: Buffer, response: R) {
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64u(clientDataJSON), ...response },
    };
  }
}
