import fastifyCors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAuditor } from './audit/audit.js';
import type { AppDeps } from './deps.js';
import { authRoutes } from './auth/auth.routes.js';
import { createPasswordThrottle } from './auth/password-throttle.js';
import { tokenResolver } from './auth/token-auth.js';
import { pruneThrottles } from './auth/password-throttle.repository.js';
import { pruneTokenRows } from './auth/token-rows.repository.js';
import { refreshRoutes } from './refresh/refresh.routes.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { fastifyTrustProxy } from './config/trust-proxy.js';
import { createKeyedHasher } from './crypto/keyed-hash.js';
import { createSecretBox } from './crypto/secret-box.js';
import { devicesRoutes } from './devices/devices.routes.js';
import { docsRoutes } from './docs/docs.routes.js';
import { recoveryCodesRoutes } from './recovery-codes/recovery-codes.routes.js';
import { recoveryCodeOption } from './recovery-codes/recovery-codes.service.js';
import { rescueOptions } from './rescue/options.js';
import { rescueRoutes } from './rescue/rescue.routes.js';
import { factors } from './two-factor/factors/index.js';
import { twoFactorLogin } from './two-factor/login.service.js';
import { pruneExpiredPending } from './two-factor/pending.repository.js';
import { pruneSends } from './two-factor/budget/send-limits.js';
import { twoFactorRoutes } from './two-factor/tf.routes.js';
import { selectRoutes } from './two-factor/select.routes.js';
import { pruneChallenges } from './two-factor/factors/webauthn.repository.js';
import { unifiedSigninRoutes } from './unified-signin/us.routes.js';
import type { Database } from './db/database.js';
import { pruneExpiredSessions } from './db/session-store.js';
import { healthRoutes, type Lifecycle } from './health/health.routes.js';
import { registerAuthContext } from './http/auth-context.js';
import { csrfToken, registerCsrf } from './http/csrf.js';
import { envelope, isEnvelope } from './http/envelope.js';
import { registerDrain } from './http/drain.js';
import { registerErrorHandling } from './http/errors-plugin.js';
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.js';
import { BODY_LIMIT, registerJsonBody } from './http/json-body.js';
import { registerRateLimit } from './http/rate-limit.js';
import { genReqId, registerRequestId, RequestLog, requestLogger } from './http/request-log.js';
import { registerSessions } from './http/session.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { registerMetrics } from './metrics/metrics.routes.js';
import { createSenders } from './senders/registry.js';
import { createDeliveryLoop } from './events/delivery.js';
import { advisoryLeadership, soleLeader } from './events/leader.js';
import { eventsSettings } from './events/settings.js';
import { sendersConfig } from './senders/from-config.js';
import type { Senders } from './senders/types.js';

export interface AppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  clock?: Clock;
  senders?: Senders;
  lifecycle?: Lifecycle;
  /** A Redis client for rate-limit counters, owned by the caller; else one is made from REDIS_URL. */
  redis?: Redis;
  /** Redis key prefix of the rate-limit counters (tests give each run its own). */
  rateLimitKeyPrefix?: string;
  /** Tests pass their own to read the counters; otherwise one per app. */
  metrics?: Metrics;
  /**
   * Run the delivery of webhooks and security e-mails from the outbox in this
   * process (server.ts does; test apps leave it to the tests of src/events/).
   */
  deliverEvents?: boolean;
}

const PRUNE_EVERY_MS = 5 * 60 * 1000;

/**
 * Builds the service. Plugins are registered explicitly and in order, so this
 * file reads as the table of contents of a request's life.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config, database, logger } = opts;
  const { db } = database;
  const clock = opts.clock ?? systemClock;
  const lifecycle = opts.lifecycle ?? { draining: false };
  const hmac = createKeyedHasher(config.SECRET_KEY);
  const senders = opts.senders ?? createSenders(sendersConfig(config), { logger, clock });
  const metrics = opts.metrics ?? createMetrics(database);

  const app = Fastify({
    // Typed as Fastify's base logger so plugins and routes keep the default instance type.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // false, a hop count or the proxies' addresses; `true` is read as one hop (src/config/trust-proxy.ts).
    trustProxy: fastifyTrustProxy(config.TRUST_PROXY),
    // An incoming X-Request-Id is kept when sane, so one id follows a request across services.
    genReqId,
    logController: new RequestLog(),
    childLoggerFactory: requestLogger,
    // Requests arriving while the app closes get the envelope from registerDrain instead.
    return503OnClosing: false,
    // Answers Fastify would write itself (router and HTTP parser errors) are the envelope too.
    frameworkErrors,
    clientErrorHandler,
    // tf_state_token travels in the path (openapi.yaml) and is ~140 characters; Fastify's default is 100.
    routerOptions: { maxParamLength: 256 },
  });

  // 1. Request id and metrics of every answer; how errors and bodies look on the wire.
  registerRequestId(app);
  registerErrorHandling(app);
  registerDrain(app);
  registerJsonBody(app);
  registerMetrics(app, { config, metrics });
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
  });

  // 2. Who may call from a browser on another origin (credentials included).
  if (config.CORS_ORIGINS.length) {
    await app.register(fastifyCors, {
      origin: [...config.CORS_ORIGINS],
      credentials: true,
      allowedHeaders: [
        'Content-Type',
        'X-CSRF-Token',
        'X-XSRF-Token',
        'Authentication-Token',
        'Authorization',
        'X-Request-Id',
      ],
      exposedHeaders: ['Retry-After', 'X-Request-Id'],
      methods: ['GET', 'POST', 'DELETE'],
      maxAge: 600,
    });
  }

  // 3. Per-IP rate limits, before the session is read or the body parsed (after CORS, so a 429 is readable).
  await registerRateLimit(app, { config, clock, log: app.log, redis: opts.redis, keyPrefix: opts.rateLimitKeyPrefix });

  // 4. Session, caller identity, CSRF and Origin checks.
  await registerSessions(app, { config, db, clock, hmac, changes: database.changes });
  registerAuthContext(app, {
    resolveToken: tokenResolver({ db, hmac, clock, stateless: config.SECURITY_TOKEN_STATELESS }),
  });
  registerCsrf(app, { config, hmac });

  // 5. Every success is an envelope carrying the session's CSRF token (openapi.yaml, wire conventions).
  app.addHook('preSerialization', async (request, reply, payload) => {
    const cfg = request.routeOptions.config;
    if (cfg.envelope === false || isEnvelope(payload) || typeof payload !== 'object' || payload === null)
      return payload;
    const response = cfg.noCsrfToken
      ? (payload as Record<string, unknown>)
      : { ...(payload as object), csrf_token: csrfToken(hmac, request) };
    return envelope(reply.statusCode, response);
  });

  // 6. Features.
  const audit = createAuditor(clock, logger);
  const throttle = createPasswordThrottle({ db, clock, hmac, audit });
  const box = createSecretBox(config.SECURITY_TOTP_SECRETS);
  const core = { config, db, clock, hmac, box, senders, audit, metrics };
  // The rescue choices: e-mail and help-desk are built in; recovery codes offer themselves.
  const deps: AppDeps = { ...core, throttle, rescueOptions: rescueOptions(config, [recoveryCodeOption(core)]) };
  await app.register(healthRoutes, { db, lifecycle });
  // The second factors, one line each (two-factor/factors/index.ts): login, setup and validate pick from this
  // table, so a factor's rule is app.ts → table → factor (docs/architecture.md, Factors).
  const tf = { ...deps, factors };
  const afterPassword = twoFactorLogin(tf);
  await app.register(authRoutes, { ...deps, afterPassword });
  await app.register(docsRoutes);
  await app.register(twoFactorRoutes, tf);
  await app.register(selectRoutes, tf);
  // Security keys (README "Security keys"): Flask-Security's /wan-* endpoints, when switched on.
  // Loaded only when switched on: @simplewebauthn/server is ~14 MiB of RSS (BENCHMARKS.md).
  if (config.SECURITY_WEBAUTHN) await app.register((await import('./webauthn/webauthn.routes.js')).webauthnRoutes, tf);
  await app.register(rescueRoutes, deps);
  await app.register(recoveryCodesRoutes, deps);
  await app.register(devicesRoutes, deps);
  if (config.SECURITY_REFRESH_TOKEN) await app.register(refreshRoutes, deps);
  // Unified sign-in: its methods are the factors of the same table, its first factor goes on through afterPassword.
  await app.register(unifiedSigninRoutes, { ...tf, afterPassword });

  // 7. Housekeeping: expired sessions, pending sign-ins, old send records and forgotten
  // password failures are ours to delete.
  let pruneTimer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    pruneTimer = setInterval(() => {
      const now = clock.now();
      Promise.all([
        pruneExpiredSessions(db, now),
        pruneExpiredPending(db, now),
        pruneSends({ db }, now),
        pruneThrottles(db, now),
        pruneChallenges(db, now),
        pruneTokenRows(db, now),
      ]).catch((err: unknown) => logger.warn({ err }, 'prune of expired rows failed'));
    }, PRUNE_EVERY_MS);
    pruneTimer.unref();
  });
  app.addHook('onClose', async () => clearInterval(pruneTimer));

  // 8. Events out: the outbox's webhooks and security e-mails, sent in the background by one
  // leader across instances (docs/architecture.md, Events out); stopped before the database closes.
  if (opts.deliverEvents) {
    const delivery = createDeliveryLoop({
      db,
      leadership: database.kind === 'postgres' ? advisoryLeadership(db, logger) : soleLeader,
      settings: eventsSettings(config),
      senders,
      clock,
      log: logger,
      metrics,
    });
    app.addHook('onReady', async () => delivery.start());
    app.addHook('onClose', async () => delivery.stop());
  }

  return app;
}
