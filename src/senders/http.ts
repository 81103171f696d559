/**
 * One provider request over Node's own fetch, for the SendGrid and Twilio
 * senders: their SDKs (axios, and for twilio ~25 MB of generated API classes)
 * were the largest part of the production install (README, Operations), and
 * each sender uses one endpoint. Errors come out in the shapes retry.ts
 * classifies: ProviderHttpError for an HTTP answer, the socket error (with its
 * `code`) for a network failure, the abort reason at the deadline.
 */
import type { ProviderFailure } from './retry.js';

/** A provider answered with an error status; what it said is kept for the (scrubbed) log. */
export class ProviderHttpError extends Error implements ProviderFailure {
  constructor(
    readonly httpStatus: number,
    readonly reason: string,
    readonly providerCode?: string | number,
  ) {
    super(`HTTP ${httpStatus}`);
    this.name = 'ProviderHttpError';
  }
}

/** retry.ts's `describe` for both senders. */
export function describeHttpError(err: unknown): ProviderFailure | undefined {
  if (!(err instanceof ProviderHttpError)) return undefined;
  const { httpStatus, reason, providerCode } = err;
  return { httpStatus, reason, ...(providerCode !== undefined ? { providerCode } : {}) };
}

/**
 * Joins a base URL (SENDGRID_API_URL, TWILIO_API_URL), which may carry a path
 * prefix such as a proxy's, with the API path.
 */
export function endpoint(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  return url;
}

/**
 * POSTs and resolves with the parsed JSON answer (undefined when empty) for a
 * 2xx; rejects with ProviderHttpError otherwise. `explain` turns the provider's
 * error body into a reason and optional provider code.
 */
export async function post(
  url: URL,
  init: { headers: Record<string, string>; body: string; signal: AbortSignal },
  explain: (body: unknown) => { reason?: string; code?: string | number },
): Promise<unknown> {
  let response: Response;
  try {
    // No redirects: a credential must only ever go to the configured host.
    response = await fetch(url, { method: 'POST', redirect: 'error', ...init });
  } catch (err) {
    // fetch wraps socket errors in "TypeError: fetch failed"; the cause has the code (ECONNRESET, …).
    if (init.signal.aborted) throw init.signal.reason;
    const cause = err instanceof Error ? err.cause : undefined;
    throw cause instanceof Error ? cause : err;
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) return body;
  const { reason, code } = explain(body);
  throw new ProviderHttpError(response.status, reason || response.statusText || `HTTP ${response.status}`, code);
}
