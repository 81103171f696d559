/**
 * The error catalogue (openapi.yaml, wire conventions): the only place that knows messages and
 * statuses. Code throws AppError(key); the error handler maps it once into the
 * envelope. Keys are stable machine-readable codes sent as `error_code`.
 */
export const CATALOGUE = {
  TWO_FACTOR_INVALID_TOKEN: [400, 'Invalid code'],
  TWO_FACTOR_PERMISSION_DENIED: [400, 'You currently do not have permissions to access this page'],
  TWO_FACTOR_METHOD_NOT_AVAILABLE: [400, 'Marked method is not valid'],
  TWO_FACTOR_METHOD_NOT_ALLOWED: [400, 'This method is not allowed for your account. Choose another.'],
  REFRESH_TOKEN_INVALID: [400, 'Refresh token is invalid (%(reason)s)'],
  AUTHENTICATION_TOO_OLD: [401, 'The sign-in is older than max_age. Sign in again.'],
  TWO_FACTOR_DISABLED: [200, 'You successfully disabled two-factor authorization.'],
  TWO_FACTOR_SETUP_EXPIRED: [400, 'Setup must be completed within %(within)s. Please start over.'],
  TWO_FACTOR_TOO_MANY_ATTEMPTS: [429, 'Too many invalid codes. Please sign in again.'],
  TWO_FACTOR_LOCKED: [429, 'Too many failed attempts. Try again later.'],
  PHONE_INVALID: [400, 'Phone number not valid e.g. missing country code'],
  SMS_COUNTRY_NOT_ALLOWED: [400, 'Codes cannot be sent by SMS to this country. Please choose another method.'],
  FAILED_TO_SEND_CODE: [500, 'Failed to send code. Please try again later'],
  US_METHOD_NOT_AVAILABLE: [400, 'Requested method is not valid'],
  US_SETUP_EXPIRED: [400, 'Setup must be completed within %(within)s. Please start over.'],
  INVALID_PASSWORD_CODE: [400, 'Password or code submitted is not valid'],
  INVALID_RECOVERY_CODE: [400, 'Recovery code invalid'],
  NO_RECOVERY_CODES_SETUP: [400, 'No recovery codes generated yet'],
  REAUTHENTICATION_REQUIRED: [401, 'You must reauthenticate to access this endpoint'],
  UNAUTHENTICATED: [401, 'You must sign in to view this resource.'],
  ANONYMOUS_USER_REQUIRED: [400, 'You can only access this endpoint when not logged in.'],
  GENERIC_AUTHN_FAILED: [400, 'Authentication failed - identity or password/passcode invalid'],
  DISABLED_ACCOUNT: [400, 'Account is disabled.'],
  PASSWORD_INVALID_LENGTH: [400, 'Password must be at least %(length)s characters'],
  EMAIL_ALREADY_ASSOCIATED: [400, '%(email)s is already associated with an account.'],
  INVALID_EMAIL_ADDRESS: [400, 'Invalid email address'],
  API_ERROR: [400, 'Input not appropriate for requested API'],
  RATE_LIMITED: [429, 'Too many requests. Try again later.'],
  REQUIRED: [400, 'This field is required.'],
  INVALID_PASSWORD: [400, 'Invalid password'],
  CSRF_TOKEN_MISSING: [400, 'The CSRF token is missing.'],
  CSRF_TOKEN_INVALID: [400, 'The CSRF token is invalid.'],
  ORIGIN_NOT_ALLOWED: [403, 'Origin not allowed.'],
  MALFORMED_JSON: [400, 'The request body is not valid JSON.'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'Content-Type must be application/json.'],
  PAYLOAD_TOO_LARGE: [413, 'The request body is too large.'],
  NOT_FOUND: [404, 'Not found.'],
  URI_TOO_LONG: [414, 'The request URI is too long.'],
  REQUEST_TIMEOUT: [408, 'The request took too long to arrive.'],
  HEADERS_TOO_LARGE: [431, 'The request headers are too large.'],
  METHOD_NOT_ALLOWED: [405, 'Method not allowed.'],
  // Security keys (README "Security keys"): Flask-Security's keys and messages.
  WEBAUTHN_EXPIRED: [400, 'Passkey operations must be completed within %(within)s. Please start over.'],
  WEBAUTHN_NAME_REQUIRED: [400, 'Nickname for new passkey is required.'],
  WEBAUTHN_NAME_INUSE: [400, '%(name)s is already associated with a passkey.'],
  WEBAUTHN_NAME_NOT_FOUND: [400, '%(name)s not registered with current user.'],
  WEBAUTHN_CREDENTIAL_ID_INUSE: [400, 'Passkey already registered.'],
  WEBAUTHN_UNKNOWN_CREDENTIAL_ID: [400, 'Unregistered passkey.'],
  WEBAUTHN_NO_VERIFY: [400, 'Could not verify passkey: %(cause)s.'],
  WEBAUTHN_CREDENTIAL_WRONG_USAGE: [400, 'Passkey not registered for this use (first or secondary)'],
  WEBAUTHN_MISMATCH_USER_HANDLE: [400, "Credential user handle didn't match"],
  INVALID_INPUT: [400, 'Value entered is not valid for the field'],
  INVALID_INPUT_LENGTH: [400, 'Value entered must be less than %(length)s characters'],
  SERVICE_UNAVAILABLE: [503, 'The service is temporarily unavailable.'],
  INTERNAL_ERROR: [500, 'Internal error.'],
  // Operator API and command line (README, "Operator API").
  USER_NOT_FOUND: [404, 'No user %(user)s.'],
  INVALID_CURSOR: [400, 'The cursor is not valid; use next_cursor of a previous page.'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorKey = keyof typeof CATALOGUE;

export interface AppErrorOptions {
  /** Field the error belongs to; '' (the default) for form-wide errors. */
  field?: string;
  /** Values for %(name)s placeholders. */
  params?: Record<string, string | number>;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Extra members of `response` (e.g. reauth_required). */
  extra?: Record<string, unknown>;
  /** Overrides the catalogue's status (e.g. REQUIRED is 400, but never mind). */
  status?: number;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly key: ErrorKey,
    readonly options: AppErrorOptions = {},
  ) {
    // A 4xx is an answer, not a fault: nobody reads its stack, and capturing one was
    // ~2 % of a wrong code's CPU (BENCHMARKS.md). A 5xx keeps it for the log.
    const limit = Error.stackTraceLimit;
    if ((options.status ?? CATALOGUE[key][0]) < 500) Error.stackTraceLimit = 0;
    super(formatMessage(key, options.params));
    Error.stackTraceLimit = limit;
    this.name = 'AppError';
    this.status = options.status ?? CATALOGUE[key][0];
  }
  get field(): string {
    return this.options.field ?? '';
  }
}

export function formatMessage(key: ErrorKey, params: Record<string, string | number> = {}): string {
  return CATALOGUE[key][1].replace(/%\((\w+)\)s/g, (_, name: string) => String(params[name] ?? ''));
}

/** Several field errors at once (validation of a whole body). */
export class ValidationError extends Error {
  constructor(readonly fields: Array<{ field: string; key: ErrorKey; params?: Record<string, string | number> }>) {
    super('validation failed');
    this.name = 'ValidationError';
  }
}
