import type { components } from './generated/api.js';

export type ErrorCode = components['schemas']['ErrorCode'];

/**
 * An error answer of the service, from its envelope (openapi.yaml, Wire
 * conventions): `code` is the stable key to branch on, `messages` the text to
 * show, `fieldErrors` the messages per request field.
 */
export class TfaApiError extends Error {
  override readonly name = 'TfaApiError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode | undefined,
    readonly messages: readonly string[],
    readonly fieldErrors: Readonly<Record<string, readonly string[]>>,
    /** Seconds to wait, from `Retry-After` on a 429. */
    readonly retryAfter: number | undefined,
    /** True on 401 `REAUTHENTICATION_REQUIRED`: ask for the password (`reauthenticate`), then retry. */
    readonly reauthRequired: boolean,
  ) {
    super(messages.length ? messages.join(' ') : `HTTP ${status}`);
  }
}

/**
 * No answer could be read: the network failed, or (in a browser) the service
 * refused this origin under CORS, which the browser reports the same way.
 */
export class TfaNetworkError extends Error {
  override readonly name = 'TfaNetworkError';

  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Thrown by a flow asked for something the current state does not allow (no request was sent). */
export class TfaUsageError extends Error {
  override readonly name = 'TfaUsageError';
}

type ErrorBody = Partial<components['schemas']['Error']>;

export function errorFromEnvelope(status: number, body: unknown, retryAfterHeader: string | null): TfaApiError {
  const response = ((body as { response?: unknown } | null)?.response ?? {}) as ErrorBody;
  const retry = retryAfterHeader === null ? NaN : Number(retryAfterHeader);
  return new TfaApiError(
    status,
    typeof response.error_code === 'string' ? response.error_code : undefined,
    Array.isArray(response.errors) ? response.errors : [],
    response.field_errors && typeof response.field_errors === 'object' ? response.field_errors : {},
    Number.isFinite(retry) ? retry : undefined,
    response.reauth_required === true,
  );
}
