/**
 * The retry policy on its own, with attempts that are plain functions: the
 * deadline holds even when the work ignores the abort signal (a provider
 * trickling bytes), programming errors are not retried, and provider text is
 * scrubbed before it is logged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttemptTimeout, deliverWithRetry, isTransientStatus, scrub } from '../../src/senders/retry.js';
import type { RetryOptions } from '../../src/senders/retry.js';
import { DeliveryError } from '../../src/senders/types.js';
import { captureLogger } from '../helpers/log-capture.js';

const options = (overrides: Partial<RetryOptions> = {}): RetryOptions => ({
  provider: 'test',
  channel: 'email',
  logger: captureLogger().logger,
  timeoutMs: 100,
  retryDelayMs: 0,
  describe: () => undefined,
  secrets: [],
  ...overrides,
});

test('the deadline holds even when the attempt ignores its abort signal', async () => {
  const signals: AbortSignal[] = [];
  const started = Date.now();
  const never = (signal: AbortSignal) => {
    signals.push(signal);
    return new Promise<void>(() => undefined);
  };
  await assert.rejects(deliverWithRetry(never, options()), DeliveryError);
  const elapsed = Date.now() - started;
  assert.equal(signals.length, 2);
  assert.ok(signals.every((s) => s.aborted && s.reason instanceof AttemptTimeout));
  // The upper bound only proves the deadline held; loose because CI machines are shared.
  assert.ok(elapsed >= 200 && elapsed < 5_000, `took ${elapsed} ms`);
});

test('an attempt that rejects after its deadline causes no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const late = (signal: AbortSignal) =>
      new Promise<void>((_resolve, reject) =>
        signal.addEventListener('abort', () => setTimeout(() => reject(new Error('late')), 10)),
      );
    await assert.rejects(deliverWithRetry(late, options()), DeliveryError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a programming error is not retried', async () => {
  let calls = 0;
  const broken = async () => {
    calls += 1;
    throw new TypeError('cannot read properties of undefined');
  };
  await assert.rejects(deliverWithRetry(broken, options()), {
    name: 'DeliveryError',
    message: 'email delivery via test failed after 1 attempt (error)',
  });
  assert.equal(calls, 1);
});

test('a network error is retried once', async () => {
  let calls = 0;
  const flaky = async () => {
    calls += 1;
    if (calls === 1) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  };
  await deliverWithRetry(flaky, options());
  assert.equal(calls, 2);
});

test('408, 429 and 5xx are transient; other 4xx are not', () => {
  assert.deepEqual(
    [400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504].map((s) => [s, isTransientStatus(s)]),
    [
      [400, false],
      [401, false],
      [403, false],
      [404, false],
      [408, true],
      [413, false],
      [422, false],
      [429, true],
      [500, true],
      [502, true],
      [503, true],
      [504, true],
    ],
  );
});

test('scrub removes secrets and code-like digit runs and bounds the length', () => {
  assert.equal(
    scrub('key SG.abc.def in 123456 and +15005550006, port 8080', ['SG.abc.def']),
    'key [redacted] in [digits] and +[digits], port 8080',
  );
  assert.equal(scrub('x'.repeat(1_000), []).length, 300);
});
