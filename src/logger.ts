import pino, { type Logger } from 'pino';
import { censor, loggedPath, serializeError } from './log-safety.js';

/**
 * Paths that may carry secrets are redacted everywhere (docs/architecture.md, Audit). The one
 * exception is the `log` sender's outbox line, which exists to show a code
 * to a developer.
 */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["authentication-token"]',
  'req.headers["x-csrf-token"]',
  'req.headers["x-xsrf-token"]',
  'res.headers["set-cookie"]',
  // The request serializer below never prints headers; these catch a
  // `log.info({ headers: request.headers })` added while debugging.
  'headers.cookie',
  'headers.authorization',
  'headers["authentication-token"]',
  'headers["x-csrf-token"]',
  'headers["x-xsrf-token"]',
  'headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.code',
  '*.token',
  '*.secret',
  '*.csrf_token',
  '*.authentication_token',
  '*.refresh_token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor },
      serializers: {
        req: (req: { method: string; url: string; id: string; ip?: string; routeOptions?: { url?: string } }) => ({
          method: req.method,
          // Tokens travel in paths (`/tf-setup/{tf_state_token}`) and queries: see log-safety.ts.
          url: loggedPath(req),
          id: req.id,
          ip: req.ip,
        }),
        err: serializeError,
      },
    },
    destination,
  );
}
