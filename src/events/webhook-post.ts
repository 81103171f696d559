import type { DueDelivery } from './events.repository.js';
import { signWebhook } from './signature.js';

/** The body of a webhook: Standard Webhooks' `{type, timestamp, data}`; data is the audit event (no secrets in it). */
export function webhookBody(d: DueDelivery): string {
  return JSON.stringify({
    type: d.type,
    timestamp: new Date(d.at).toISOString(),
    data: {
      id: d.event_id,
      type: d.type,
      user_id: d.user_id,
      at: new Date(d.at).toISOString(),
      ip: d.ip,
      user_agent: d.user_agent,
      details: d.details,
    },
  });
}

export interface PostOutcome {
  ok: boolean;
  status: number | null;
  /** A short reason for the log and last_error: never the receiver's body. */
  error: string | null;
}

/**
 * One attempt: POST the signed event, no redirects followed, bounded by
 * `timeoutMs`. Success is any 2xx (Standard Webhooks); anything else, a
 * timeout or a network error is a failure to retry.
 */
export async function postWebhook(
  url: string,
  key: Buffer,
  d: DueDelivery,
  nowSeconds: number,
  timeoutMs: number,
): Promise<PostOutcome> {
  const body = webhookBody(d);
  const headers = { 'content-type': 'application/json', ...signWebhook(key, d.event_id, nowSeconds, body) };
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The answer's body means nothing to us; drop it so the connection is freed.
    await res.body?.cancel().catch(() => {});
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.name);
    return { ok: false, status: null, error: reason };
  }
}
