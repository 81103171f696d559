/**
 * One delivery = at most two attempts (docs/architecture.md, Senders): each attempt is bounded by a
 * hard timeout, a transient failure is retried once, anything else fails at
 * once. The caller only ever sees a DeliveryError with a neutral message; what
 * the provider said goes to the log, scrubbed of credentials and codes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BaseLogger } from 'pino';
import { DeliveryError } from './types.js';

/** docs/architecture.md (Senders): a provider that does not answer within 5 s counts as failed. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** A short pause before the retry gives a 429/5xx a chance to clear while keeping the worst case near 2 × 5 s. */
export const DEFAULT_RETRY_DELAY_MS = 200;
const MAX_ATTEMPTS = 2;

/** What a provider adapter can say about an HTTP-level failure. */
export interface ProviderFailure {
  httpStatus: number;
  /** The provider's own error code (Twilio 21211, …), when it gives one. */
  providerCode?: string | number;
  /** Provider text; scrubbed before it is logged. */
  reason: string;
}

export interface RetryOptions {
  provider: string;
  channel: 'email' | 'sms';
  logger: BaseLogger;
  timeoutMs: number;
  retryDelayMs: number;
  /** Recognise the provider's HTTP error type; undefined for anything else. */
  describe: (err: unknown) => ProviderFailure | undefined;
  /** Values that must never reach a log line (API key, auth token, the message body). */
  secrets: readonly string[];
}

/** Our own per-attempt deadline, so a provider that trickles bytes cannot keep an attempt alive. */
export class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'AttemptTimeout';
  }
}

// Errors of the socket or DNS layer (Node and axios codes): the provider may be fine a moment later.
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

interface Classified {
  transient: boolean;
  kind: 'http' | 'timeout' | 'network' | 'other';
  httpStatus?: number;
  providerCode?: string | number;
  reason: string;
}

/** 408/429/5xx are the provider saying "not now"; other 4xx mean the request itself is wrong. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function classify(err: unknown, opts: RetryOptions): Classified {
  if (err instanceof AttemptTimeout) return { transient: true, kind: 'timeout', reason: err.message };
  const http = opts.describe(err);
  if (http) return { transient: isTransientStatus(http.httpStatus), kind: 'http', ...http };
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) {
    return { transient: true, kind: 'network', providerCode: code, reason: message };
  }
  return {
    transient: false,
    kind: 'other',
    ...(typeof code === 'string' ? { providerCode: code } : {}),
    reason: message,
  };
}

/** Remove credentials, the message body and any code-like digit run from provider text before logging it. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(/\d{6,}/g, '[digits]').slice(0, 300);
}

async function runAttempt(attempt: (signal: AbortSignal) => Promise<unknown>, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const timeout = new AttemptTimeout(timeoutMs);
      controller.abort(timeout); // lets the client close its socket
      reject(timeout);
    }, timeoutMs);
  });
  const work = attempt(controller.signal);
  // After the deadline the attempt may still reject (aborted); that outcome is already decided.
  work.catch(() => undefined);
  try {
    await Promise.race([work, deadline]);
  } catch (err) {
    throw controller.signal.aborted ? controller.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}

function failureMessage(opts: RetryOptions, attempts: number, last: Classified): string {
  const what =
    last.kind === 'http'
      ? `HTTP ${last.httpStatus}`
      : last.kind === 'timeout'
        ? 'timeout'
        : last.kind === 'network'
          ? 'network error'
          : 'error';
  return `${opts.channel} delivery via ${opts.provider} failed after ${attempts} attempt${attempts > 1 ? 's' : ''} (${what})`;
}

/**
 * Run `attempt` with a deadline; retry once on a transient failure. The signal
 * passed to `attempt` aborts at the deadline.
 */
export async function deliverWithRetry(
  attempt: (signal: AbortSignal) => Promise<unknown>,
  opts: RetryOptions,
): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      await runAttempt(attempt, opts.timeoutMs);
      if (n > 1)
        opts.logger.info({ provider: opts.provider, channel: opts.channel, attempt: n }, 'delivery succeeded on retry');
      return;
    } catch (err) {
      const failure = classify(err, opts);
      const fields = {
        provider: opts.provider,
        channel: opts.channel,
        attempt: n,
        kind: failure.kind,
        transient: failure.transient,
        ...(failure.httpStatus !== undefined ? { httpStatus: failure.httpStatus } : {}),
        ...(failure.providerCode !== undefined ? { providerCode: failure.providerCode } : {}),
        reason: scrub(failure.reason, opts.secrets),
      };
      if (failure.transient && n < MAX_ATTEMPTS) {
        opts.logger.warn(fields, 'delivery attempt failed, retrying');
        await sleep(opts.retryDelayMs);
        continue;
      }
      opts.logger.error(fields, 'delivery failed');
      // No `cause`: provider errors carry request config (Authorization header, body with the code),
      // and an error serializer further up would print them.
      throw new DeliveryError(failureMessage(opts, n, failure));
    }
  }
}
