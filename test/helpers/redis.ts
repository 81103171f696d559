import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * Redis for the shared rate-limit tests: CI exports REDIS_TEST_URL; without it
 * those tests are skipped with the reason. Each run gets its own key prefix, and
 * `cleanup` deletes exactly those keys.
 */
export const REDIS_TEST_URL = process.env.REDIS_TEST_URL || undefined;
export const REDIS_SKIP = REDIS_TEST_URL ? false : 'REDIS_TEST_URL is not set (CI sets it to redis://127.0.0.1:6379)';

export function uniqueRedisPrefix(): string {
  return `tfa-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
