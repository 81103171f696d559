/*
 * Threat: an attacker spreads requests over the instances behind a load
 * balancer, so that per-process counters give them RATE_LIMIT_MAX per instance.
 * SPEC §4.2: with REDIS_URL every instance counts in the same Redis, so the
 * budget is RATE_LIMIT_MAX per address in total — also for a concurrent burst
 * spread over both instances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { deleteKeys, REDIS_SKIP, REDIS_TEST_URL, uniqueRedisPrefix } from '../helpers/redis.js';

const MAX = 6;
let n = 0;
const wrongLogin = () => ({ email: `spread${++n}@example.com`, password: 'wrong password' });

describe(`per-IP rate limit shared through Redis (${DB_KIND})`, { skip: REDIS_SKIP }, () => {
  const prefix = uniqueRedisPrefix();
  let a: TestApp;
  let b: TestApp;
  const env = {
    RATE_LIMIT_MAX: String(MAX),
    RATE_LIMIT_WINDOW: '60',
    TRUST_PROXY: 'true',
    REDIS_URL: REDIS_TEST_URL ?? '',
  };
  const clientOf = (t: TestApp, ip: string) => {
    const c = new Client(() => t.app);
    c.headers['x-forwarded-for'] = ip;
    return c;
  };

  before(async () => {
    // Two instances over one database, each with its own Redis client, one key prefix for this run.
    a = await createTestApp(env, undefined, { rateLimitKeyPrefix: prefix });
    b = await createTestApp(env, a.database, { rateLimitKeyPrefix: prefix });
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await deleteKeys(REDIS_TEST_URL!, prefix);
  });

  test('requests spread over two instances share one budget', async () => {
    const ip = '192.0.2.10';
    for (let i = 0; i < MAX; i++) {
      const res = await clientOf(i % 2 ? b : a, ip).post('/login', wrongLogin());
      assert.equal(res.statusCode, 400, `request ${i + 1}`);
    }
    for (const t of [a, b]) {
      const res = await clientOf(t, ip).post('/login', wrongLogin());
      assert.equal(res.statusCode, 429);
      assert.equal(res.data.response.error_code, 'RATE_LIMITED');
      assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    assert.equal(
      (await clientOf(b, '192.0.2.11').post('/login', wrongLogin())).statusCode,
      400,
      'another address has its own budget',
    );

    const redis = new Redis(REDIS_TEST_URL!);
    try {
      const keys = await redis.keys(`${prefix}*`);
      assert.ok(keys.length >= 2 && keys.every((k) => k.startsWith(prefix)), 'counters live under the prefix');
      assert.ok(keys.every((k) => !k.includes('192.0.2.10') || k === `${prefix}192.0.2.10`));
      const ttl = await redis.pttl(`${prefix}192.0.2.10`);
      assert.ok(ttl > 0 && ttl <= 60_000, 'every counter expires with its window');
    } finally {
      await redis.quit();
    }
  });

  test('a concurrent burst of 50 over both instances gets at most MAX answers that are not 429', async () => {
    const ip = '192.0.2.20';
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => clientOf(i % 2 ? b : a, ip).post('/login', wrongLogin())),
    );
    const through = answers.filter((r) => r.statusCode !== 429);
    assert.equal(through.length, MAX);
    assert.ok(answers.filter((r) => r.statusCode === 429).every((r) => r.data.response.error_code === 'RATE_LIMITED'));
  });
});
