import { safeEqual, type KeyedHasher } from '../crypto/keyed-hash.js';

/**
 * tf_state_token (openapi.yaml): names a signed-in user's pending setup, signed and
 * expiring, so `POST /tf-setup/{token}` needs no session state. The setup
 * itself (secret, phone, code hash) stays server-side in its tf_pending row.
 */
interface StatePayload {
  p: string;
  u: number;
  e: number;
}

export function issueStateToken(hmac: KeyedHasher, pendingId: string, userId: number, expiresAt: Date): string {
  const body = Buffer.from(
    JSON.stringify({ p: pendingId, u: userId, e: Math.floor(expiresAt.getTime() / 1000) } satisfies StatePayload),
  ).toString('base64url');
  return `${body}.${hmac.hash('tf-state-token', body)}`;
}

export type StateTokenResult = { ok: true; pendingId: string; userId: number } | { ok: false; expired: boolean };

export function readStateToken(hmac: KeyedHasher, token: string, now: Date): StateTokenResult {
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined || token.length > 512) return { ok: false, expired: false };
  if (!safeEqual(hmac.hash('tf-state-token', body), sig)) return { ok: false, expired: false };
  let p: Partial<StatePayload>;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<StatePayload>;
  } catch {
    return { ok: false, expired: false };
  }
  if (typeof p.p !== 'string' || !Number.isInteger(p.u) || !Number.isInteger(p.e)) return { ok: false, expired: false };
  if (p.e! * 1000 <= now.getTime()) return { ok: false, expired: true };
  return { ok: true, pendingId: p.p, userId: p.u! };
}
