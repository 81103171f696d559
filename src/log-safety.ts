import { pino } from 'pino';
import { isSqlState } from './db/unavailable.js';

/**
 * What of a request and of an error may reach the log (README "Operations").
 * Logs are read by more people and systems than the database, so they carry
 * the route and the error's class, never what the client or the database held.
 */

/** A segment of an unmatched path that is plainly a word (`tf-setup`, `openapi.yaml`) is kept; anything else could be a token. */
const PLAIN_SEGMENT = /^[A-Za-z_.-]{1,32}$/;

/**
 * The path of a request for the log: the route's pattern when one matched
 * (`/tf-setup/:tf_state_token`, so the token in the path is never written),
 * else the path with every segment that is not a plain word replaced by `*`.
 * Query strings are always dropped.
 */
export function loggedPath(req: { url: string; routeOptions?: { url?: string | undefined } }): string {
  const route = req.routeOptions?.url;
  if (route) return route;
  const path = req.url.split('?', 1)[0] ?? '/';
  return path
    .split('/')
    .map((segment) => (segment === '' || PLAIN_SEGMENT.test(segment) ? segment : '*'))
    .join('/');
}

/**
 * Fields of a Postgres error (pg's and PGlite's DatabaseError) that are safe:
 * the SQLSTATE and where in the server it was raised. Left out: `detail`
 * ("Failing row contains (…)" prints every value of the row, password hash
 * included), `where` and `internalQuery` (parameter values), and PGlite's
 * `query` / `params` (the statement's parameters).
 */
const SAFE_DB_FIELDS = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'constraint', 'dataType'];

/** Data exceptions (class 22) quote the offending value in their message: `value "2147483648" is out of range…`. */
const QUOTES_A_VALUE = /^22/;

export function serializeError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const base = pino.stdSerializers.err(err as Error) as Record<string, unknown>;
  const e = err as Record<string, unknown>;
  if (!isSqlState(e.code) || (!('severity' in e) && !('routine' in e))) return base;
  let { message, stack } = base as { message?: string; stack?: string };
  if (QUOTES_A_VALUE.test(e.code as string) && message) {
    const redacted = message.replace(/"[^"]*"/g, '"…"').replace(/'[^']*'/g, "'…'");
    stack = stack?.split(message).join(redacted);
    message = redacted;
  }
  const safe: Record<string, unknown> = { type: base.type, message, stack };
  for (const field of SAFE_DB_FIELDS) if (e[field] !== undefined) safe[field] = e[field];
  return safe;
}

/**
 * The redaction's censor. `*.code` catches a one-time code that a careless log
 * call might add, but an error's `code` is its class and is what an operator
 * needs, so these are kept: a SQLSTATE (five characters, where our codes have
 * six digits or twelve hex digits), an errno (ECONNREFUSED, EAI_AGAIN: letters
 * only) and Node's or Fastify's (ERR_…, FST_ERR_…). pino does not tell the
 * censor which object the key is in, so the value alone decides.
 */
const ERROR_CODE = /^(?:[0-9A-Z]{5}|E[A-Z_]{3,31}|(?:FST_)?ERR_[A-Z0-9_]{1,60})$/;

export function censor(value: unknown): unknown {
  return typeof value === 'string' && ERROR_CODE.test(value) ? value : '[redacted]';
}
