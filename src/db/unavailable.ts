/**
 * Is this error "the database cannot be reached right now" (answered 503
 * SERVICE_UNAVAILABLE, README "Operations") rather than a fault of the request
 * or of our code? Decided by class, not by a list of messages, so a failure
 * nobody has seen yet still lands on the right side:
 *
 * - SQLSTATE class 08 (connection exception), 53 (insufficient resources: too
 *   many clients, out of memory or disk), 57 (operator intervention: the server
 *   shutting down or a backend terminated) and 55000 (object not in
 *   prerequisite state, which is what a database with ALLOW_CONNECTIONS false
 *   answers). 57014 (query_canceled) is left out: it is a statement timeout of
 *   ours, not an outage.
 * - The operating system's socket and name-resolution errors (ECONNREFUSED,
 *   ENOTFOUND, EAI_AGAIN, …): every `E…` errno code that concerns reaching a peer.
 * - The pg driver's own errors, which carry no code: a connection that ended
 *   ("Connection terminated…"), a pool that could not hand out a client in time,
 *   a client that is no longer usable.
 *
 * Errors are followed through `cause` and AggregateError's `errors` (Node
 * tries every address of a host and reports them together).
 */
const SQLSTATE_CLASSES = ['08', '53', '57'];
const SQLSTATE_CODES = new Set(['55000']);
const NOT_AN_OUTAGE = new Set(['57014']);

const SOCKET_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EPIPE',
  'EADDRNOTAVAIL',
]);

const DRIVER_MESSAGES =
  /^Connection terminated|timeout exceeded when trying to connect|^Client has encountered a connection error|^Client was closed and is not queryable|^Cannot use a pool after calling end|^The server does not support SSL connections/i;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (isSqlState(code)) {
    if (NOT_AN_OUTAGE.has(code)) return false;
    if (SQLSTATE_CODES.has(code) || SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  if (SOCKET_ERRNOS.has(code)) return true;
  if (typeof e.message === 'string' && DRIVER_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/** Five characters of digits and upper-case letters: a Postgres error code. */
export function isSqlState(code: unknown): code is string {
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
