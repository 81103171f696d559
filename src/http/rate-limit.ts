import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { rateLimitStore } from './rate-limit-store.js';

/**
 * The POST endpoints limited per IP (docs/architecture.md, Budgets: sign-in, 2FA, rescue, recovery,
 * register, verify), matched by route pattern so a route is covered the moment a
 * feature registers it. Parameter names do not matter (`/tf-setup/:anything`).
 * GETs, /logout and the operations endpoints are never limited.
 */
const LIMITED_POSTS = new Set([
  '/login',
  '/register',
  '/verify',
  '/change',
  '/tf-setup',
  '/tf-setup/:param',
  '/tf-validate',
  '/tf-rescue',
  '/mf-recovery',
  '/mf-recovery-codes',
  // Security keys and the choice between two factors (README "Security keys").
  '/tf-select',
  '/wan-register',
  '/wan-register/:param',
  '/wan-delete',
  '/wan-signin',
  '/wan-signin/:param',
  '/wan-verify',
  '/wan-verify/:param',
  '/refresh-token',
  // Unified sign-in (unified-signin/us.routes.ts): every passcode and code-send door.
  '/us-signin',
  '/us-signin/send-code',
  '/us-verify',
  '/us-verify/send-code',
  '/us-setup',
  '/us-setup/:param',
]);

export function isRateLimited(method: string, routeUrl: string | undefined): boolean {
  return method === 'POST' && routeUrl !== undefined && LIMITED_POSTS.has(routeUrl.replace(/\/:[^/]+/g, '/:param'));
}

/** Keys in a shared Redis start with this, so other applications' keys are never touched. */
export const DEFAULT_KEY_PREFIX = 'tfa-service:rl:';

export interface RateLimitDeps {
  config: Config;
  clock: Clock;
  log: FastifyBaseLogger;
  /** A client owned by the caller (not closed with the app); else one is made from REDIS_URL. */
  redis?: Redis | undefined;
  keyPrefix?: string | undefined;
}

/**
 * Per-IP rate limits with @fastify/rate-limit: RATE_LIMIT_MAX POSTs per
 * RATE_LIMIT_WINDOW seconds per client address (request.ip, which honours
 * TRUST_PROXY; IPv6 by /64), one budget shared by all limited endpoints so an
 * attacker cannot multiply it by switching endpoint. Registered as an early
 * onRequest hook: a limited request is refused before its session is loaded or
 * its body parsed.
 */
export async function registerRateLimit(app: FastifyInstance, deps: RateLimitDeps): Promise<void> {
  const { config, log } = deps;
  const redis = deps.redis ?? (config.REDIS_URL ? await connectRedis(config.REDIS_URL, log) : undefined);
  if (redis && !deps.redis) {
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  // Start with shared counters when Redis answers within a moment; until then requests count locally.
  if (redis) app.addHook('onReady', async () => void (await whenReady(redis, 2000)));

  await app.register(fastifyRateLimit, {
    global: false,
    store: rateLimitStore({ clock: deps.clock, log, redis, prefix: deps.keyPrefix ?? DEFAULT_KEY_PREFIX }),
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW * 1000,
    // The store handles Redis failures itself (see rate-limit-store.ts); any other error is a bug, not a pass.
    skipOnError: false,
    // For routes a feature limits with its own config.rateLimit: the same envelope as ours.
    errorResponseBuilder: (_request, ctx) => new AppError('RATE_LIMITED', { retryAfter: Math.ceil(ctx.ttl / 1000) }),
  });

  const check = app.createRateLimit();
  app.addHook('onRequest', async (request, reply) => {
    if (!isRateLimited(request.method, request.routeOptions.url)) return;
    const r = await check(request);
    if (r.isAllowed) return;
    reply
      .header('x-ratelimit-limit', r.max)
      .header('x-ratelimit-remaining', r.remaining)
      .header('x-ratelimit-reset', r.ttlInSeconds);
    // Thrown, so the error handler answers in the envelope with Retry-After and Cache-Control: no-store.
    if (r.isExceeded) throw new AppError('RATE_LIMITED', { retryAfter: r.ttlInSeconds });
  });
}

/** ioredis is loaded only with REDIS_URL: ~4 MiB of RSS a single instance never needs (BENCHMARKS.md). */
async function connectRedis(url: string, log: FastifyBaseLogger): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    // Fail fast instead of queueing while Redis is away: the store then counts in process.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
  });
  let reported = false;
  redis.on('error', (err: Error) => {
    if (!reported)
      log.warn(
        { err: { message: err.message } },
        'Redis connection error (rate limits count in process until it is back)',
      );
    reported = true;
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}

function whenReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const onError = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
