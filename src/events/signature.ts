import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signatures (README, "Webhooks"): the secret is
 * `whsec_<base64 key>`, and `webhook-signature` is `v1,<base64 HMAC-SHA256 of
 * "<webhook-id>.<webhook-timestamp>.<body>">`.
 */
export const SECRET_PREFIX = 'whsec_';
/** The spec's range for a key: 24 to 64 bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** The key bytes of a `whsec_…` secret (the prefix is optional, as in the reference libraries). */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(b64, 'base64');
}

/** A problem with the secret's form, or null. */
export function checkWebhookSecret(secret: string): string | null {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0)
    return 'must be whsec_ followed by base64 (e.g. `echo whsec_$(openssl rand -base64 32)`)';
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES)
    return `must hold ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes of key (got ${bytes})`;
  return null;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): SignedHeaders {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
