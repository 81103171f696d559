import type { FastifyBaseLogger } from 'fastify';
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';

type Result = { current: number; ttl: number };
type Callback = (error: Error | null, result?: Result) => void;

// INCR, and start the window on the first hit. A key that somehow lost its
// expiry gets it back, so nobody is ever limited forever.
const INCR_LUA = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}`;

interface RedisWithLimit extends Redis {
  tfaRateLimitIncr(key: string, windowMs: number): Promise<[number, number]>;
}

/** Counters kept at most this many addresses; the oldest go first (an LRU bound on memory). */
const LOCAL_MAX_KEYS = 10_000;

/**
 * Fixed windows in process memory, started by the first hit, timed by the
 * injected clock so tests move time instead of sleeping (STYLE habit 8).
 */
export class LocalCounters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  constructor(private readonly clock: Clock) {}

  incr(key: string, windowMs: number): Result {
    const now = this.clock.now().getTime();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= LOCAL_MAX_KEYS) this.windows.delete(this.windows.keys().next().value as string);
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { current: w.count, ttl: w.resetAt - now };
  }
}

export interface StoreDeps {
  clock: Clock;
  log: FastifyBaseLogger;
  /** Shared counters for every instance; without it, counters live in this process. */
  redis?: Redis | undefined;
  prefix: string;
}

/**
 * The store behind @fastify/rate-limit. With Redis, every instance shares the
 * counters. If Redis fails, the request is counted in this process instead
 * (fail-soft): each instance still enforces RATE_LIMIT_MAX on its own, so an
 * outage at worst multiplies the budget by the number of instances. We neither
 * fail open (an outage would switch the limit off) nor fail closed (a cache
 * outage would stop every sign-in); the per-account password throttle and the
 * second-factor caps live in Postgres and are unaffected either way.
 */
export function rateLimitStore(deps: StoreDeps): FastifyRateLimitStoreCtor {
  const local = new LocalCounters(deps.clock);
  const redis = deps.redis as RedisWithLimit | undefined;
  redis?.defineCommand('tfaRateLimitIncr', { numberOfKeys: 1, lua: INCR_LUA });
  let degraded = false;
  let children = 0;

  const fallback = (err: unknown, key: string, windowMs: number): Result => {
    if (!degraded)
      deps.log.warn(
        { err: { message: (err as Error).message } },
        'rate limit: Redis unavailable, counting in this process',
      );
    degraded = true;
    return local.incr(key, windowMs);
  };

  // Not `implements FastifyRateLimitStore`: its typings say child() gets the route
  // options, but the plugin (11.2.0 index.js) passes its merged options with the route under `routeInfo`.
  class Store {
    // The plugin constructs the store with its options as first argument; only children pass a prefix.
    constructor(
      _options?: object,
      private readonly prefix: string = deps.prefix,
    ) {}

    incr(key: string, cb: Callback, timeWindow: number): void {
      const k = this.prefix + key;
      if (!redis) return cb(null, local.incr(k, timeWindow));
      redis.tfaRateLimitIncr(k, timeWindow).then(
        ([current, ttl]) => {
          if (degraded) deps.log.info('rate limit: Redis is back, counters shared again');
          degraded = false;
          cb(null, { current, ttl });
        },
        (err: unknown) => cb(null, fallback(err, k, timeWindow)),
      );
    }

    /**
     * Routes with their own `config.rateLimit` (or `createRateLimit(options)`)
     * get their own counters. The plugin passes its merged options with the
     * route under `routeInfo` (empty for createRateLimit: numbered in call order,
     * which is the same on every instance).
     */
    child(params: object): Store {
      const r = (params as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
      const name = r?.url ? `${String(r.method)}${r.url}` : `limiter${++children}`;
      return new Store(undefined, `${this.prefix}${name}:`);
    }
  }
  return Store as unknown as FastifyRateLimitStoreCtor;
}
