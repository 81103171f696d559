import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAuditor } from '../audit/audit.js';
import { tokenResolver } from '../auth/token-auth.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { createKeyedHasher } from '../crypto/keyed-hash.js';
import type { Database } from '../db/database.js';
import { StartupError } from '../startup-error.js';
import { envelope, isEnvelope } from '../http/envelope.js';
import { registerErrorHandling } from '../http/errors-plugin.js';
import { clientErrorHandler, frameworkErrors } from '../http/framework-errors.js';
import { BODY_LIMIT, registerJsonBody } from '../http/json-body.js';
import { genReqId, registerRequestId, RequestLog, requestLogger } from '../http/request-log.js';
import { introspectRoutes } from './introspect.routes.js';
import { registerOperatorAuth } from './operator-auth.js';
import { operatorRoutes } from './operator.routes.js';

export interface OperatorAppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  clock?: Clock;
}

/**
 * The operator listener (README, "Operator API"): its own Fastify instance,
 * so none of its routes exists on the public port, built like the API (request
 * ids, the error envelope, JSON bodies) but with operator tokens instead of
 * sessions, no CSRF (no browser holds an operator token) and no CORS.
 * server.ts starts it on ADMIN_HOST:ADMIN_PORT only when ADMIN_PORT is set.
 */
export async function buildOperatorApp(opts: OperatorAppOptions): Promise<FastifyInstance> {
  const { config, database, logger } = opts;
  const { db } = database;
  const clock = opts.clock ?? systemClock;
  const hmac = createKeyedHasher(config.SECRET_KEY);
  const app = Fastify({
    loggerInstance: logger.child({ listener: 'operator' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    genReqId,
    logController: new RequestLog(),
    childLoggerFactory: requestLogger,
    frameworkErrors,
    clientErrorHandler,
    // `{user}` may be an e-mail address (at most 254 characters), URL-encoded.
    routerOptions: { maxParamLength: 1024 },
  });
  registerRequestId(app);
  registerErrorHandling(app);
  registerJsonBody(app);
  // RFC 7662 §2.1 clients post a form; only /introspect reads one (its body is one field).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
  });
  registerOperatorAuth(app, config.ADMIN_TOKENS);
  app.addHook('preSerialization', async (request, reply, payload) => {
    if (request.routeOptions.config.envelope === false || isEnvelope(payload)) return payload;
    if (typeof payload !== 'object' || payload === null) return payload;
    return envelope(reply.statusCode, payload as Record<string, unknown>);
  });

  const deps = { config, db, clock, audit: createAuditor(clock, logger) };
  await app.register(operatorRoutes, deps);
  await app.register(introspectRoutes, { resolveToken: tokenResolver({ db, hmac, clock }) });
  return app;
}

/** Listens on ADMIN_HOST:ADMIN_PORT; a port in use is one line for the operator, not a stack trace. */
export async function listenOperatorApp(app: FastifyInstance, config: Config): Promise<void> {
  try {
    await app.listen({ port: config.ADMIN_PORT ?? 0, host: config.ADMIN_HOST });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new StartupError(
        `the operator API cannot listen on ${config.ADMIN_HOST}:${config.ADMIN_PORT} (${code}): set ADMIN_PORT to a free port, or unset it`,
      );
    throw err;
  }
}
