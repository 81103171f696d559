/*
 * Threat: one client address floods the sign-in, 2FA, rescue, recovery,
 * register and verify endpoints (password or code guessing at machine speed,
 * or plain load). SPEC §4.2: at most RATE_LIMIT_MAX POSTs per RATE_LIMIT_WINDOW
 * per IP, then 429 RATE_LIMITED in the envelope with Retry-After — also under a
 * concurrent burst, and also when the Redis that shares the counters is down.
 * GETs, /logout and operations endpoints stay reachable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { FixedClock } from '../../src/clock.js';
import { registerErrorHandling } from '../../src/http/errors-plugin.js';
import { isRateLimited, registerRateLimit } from '../../src/http/rate-limit.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, testConfig, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';

const MAX = 5;
const WINDOW = 60;
let ipCounter = 0;
/** A fresh client address per test, so tests in this file never share a counter. */
const freshIp = (): string => `203.0.113.${++ipCounter}`;
let emailCounter = 0;
/** A different account each time, so the per-account password throttle never answers first. */
const wrongLogin = () => ({ email: `nobody${++emailCounter}@example.com`, password: 'wrong password' });

function assertRateLimited(res: Awaited<ReturnType<Client['post']>>): void {
  assert.equal(res.statusCode, 429);
  assert.deepEqual(res.data.meta, { code: 429 });
  assert.equal(res.data.response.error_code, 'RATE_LIMITED');
  assert.deepEqual(res.data.response.errors, ['Too many requests. Try again later.']);
  assert.deepEqual(res.data.response.field_errors, { '': ['Too many requests. Try again later.'] });
  assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, 'Retry-After in whole seconds');
  assert.ok(Number(res.headers['retry-after']) <= WINDOW);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
}

describe(`per-IP rate limit, in process (${DB_KIND})`, () => {
  let t: TestApp;
  const client = (ip = freshIp()) => {
    const c = new Client(() => t.app);
    c.headers['x-forwarded-for'] = ip;
    return c;
  };
  before(async () => {
    t = await createTestApp({
      RATE_LIMIT_MAX: String(MAX),
      RATE_LIMIT_WINDOW: String(WINDOW),
      TRUST_PROXY: 'true',
      SECURITY_REGISTERABLE: 'true',
    });
  });
  after(() => t.close());

  test('the (MAX+1)-th POST from one address is 429 RATE_LIMITED in the envelope; another address is unaffected', async () => {
    const c = client();
    for (let i = 0; i < MAX; i++) {
      const res = await c.post('/login', wrongLogin());
      assert.equal(res.statusCode, 400, `attempt ${i + 1} is answered normally`);
      assert.equal(res.headers['x-ratelimit-remaining'], String(MAX - i - 1));
    }
    assertRateLimited(await c.post('/login', wrongLogin()));
    const other = await client().post('/login', wrongLogin());
    assert.equal(other.statusCode, 400);
  });

  test('all limited endpoints share one budget, and bad input counts too (refused before parsing)', async () => {
    const c = client();
    assert.equal((await c.post('/login', '{"not json', { 'content-type': 'application/json' })).statusCode, 400);
    assert.equal((await c.post('/register', { email: 'x' })).statusCode, 400);
    assert.equal((await c.post('/verify', { password: 'x' })).statusCode, 401);
    assert.equal((await c.post('/change', { password: 'x', new_password: 'y' })).statusCode, 401);
    assert.equal(
      (await c.post('/login', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' })).statusCode,
      415,
    );
    for (const url of ['/login', '/register', '/verify', '/change']) assertRateLimited(await c.post(url, {}));
  });

  test('GETs, /logout and the operations endpoints are never limited', async () => {
    const c = client();
    for (let i = 0; i < MAX; i++) await c.post('/login', {});
    assertRateLimited(await c.post('/login', {}));
    for (let i = 0; i < MAX * 3; i++) {
      assert.equal((await c.get('/login')).statusCode, 200);
      assert.equal((await c.post('/logout')).statusCode, 200);
      assert.equal((await c.get('/healthz')).statusCode, 200);
    }
    assert.equal((await c.get('/nowhere')).statusCode, 404);
  });

  test('the window ends on the clock: Retry-After counts down and access comes back', async () => {
    const c = client();
    for (let i = 0; i < MAX; i++) await c.post('/login', {});
    const first = await c.post('/login', {});
    assertRateLimited(first);
    assert.equal(first.headers['retry-after'], String(WINDOW));
    t.clock.advance(45_000);
    assert.equal((await c.post('/login', {})).headers['retry-after'], '15');
    t.clock.advance(14_000);
    assertRateLimited(await c.post('/login', {}));
    t.clock.advance(1_000);
    const res = await c.post('/login', {});
    assert.equal(res.statusCode, 400, 'a new window has begun');
    assert.equal(res.headers['x-ratelimit-remaining'], String(MAX - 1));
  });

  test('a concurrent burst of 50 POSTs from one address gets exactly MAX answers that are not 429', async () => {
    const c = client();
    const answers = await Promise.all(Array.from({ length: 50 }, () => c.post('/login', wrongLogin())));
    const through = answers.filter((r) => r.statusCode !== 429);
    assert.equal(through.length, MAX);
    assert.ok(through.every((r) => r.data.response.error_code === 'GENERIC_AUTHN_FAILED'));
    answers.filter((r) => r.statusCode === 429).forEach(assertRateLimited);
  });

  test('with Redis unreachable, each instance still limits on its own (no fail-open, no outage)', async () => {
    const down = await createTestApp(
      { RATE_LIMIT_MAX: String(MAX), TRUST_PROXY: 'true', REDIS_URL: 'redis://127.0.0.1:1' },
      t.database,
    );
    try {
      const c = new Client(() => down.app);
      c.headers['x-forwarded-for'] = freshIp();
      for (let i = 0; i < MAX; i++) assert.equal((await c.post('/login', {})).statusCode, 400);
      assertRateLimited(await c.post('/login', {}));
      assert.ok(
        down.logs.some((l) => l.includes('counting in this process')),
        'the fallback is logged',
      );
    } finally {
      await down.close();
    }
  });
});

describe('which routes are limited', () => {
  test('POSTs of sign-in, 2FA, rescue, recovery, register and verify, whatever the parameter is called', () => {
    for (const url of [
      '/login',
      '/register',
      '/verify',
      '/change',
      '/tf-setup',
      '/tf-setup/:token',
      '/tf-setup/:tf_state_token',
      '/tf-validate',
      '/tf-rescue',
      '/mf-recovery',
      '/mf-recovery-codes',
      '/tf-select',
      '/wan-register',
      '/wan-register/:wan_state',
      '/wan-delete',
      '/wan-signin',
      '/wan-signin/:wan_state',
      '/wan-verify',
      '/wan-verify/:wan_state',
      '/us-signin',
      '/us-signin/send-code',
      '/us-verify',
      '/us-verify/send-code',
      '/us-setup',
      '/us-setup/:token',
    ]) {
      assert.equal(isRateLimited('POST', url), true, url);
    }
    for (const [method, url] of [
      ['GET', '/login'],
      ['GET', '/tf-setup'],
      ['GET', '/wan-register'],
      ['POST', '/logout'],
      ['GET', '/healthz'],
      ['GET', '/metrics'],
      ['DELETE', '/tf-devices/:id'],
      ['POST', '/login/:x'],
      ['POST', '/tf-setup/:a/:b'],
    ] as const) {
      assert.equal(isRateLimited(method, url), false, `${method} ${url}`);
    }
    assert.equal(isRateLimited('POST', undefined), false, 'an unknown path (404) has no route');
  });

  test('a feature route registered after the limiter is covered as soon as it exists', async () => {
    const app = Fastify({ loggerInstance: createLogger('silent') as FastifyBaseLogger, trustProxy: true });
    registerErrorHandling(app);
    await registerRateLimit(app, {
      config: testConfig({ RATE_LIMIT_MAX: '2' }),
      clock: new FixedClock(),
      log: app.log,
    });
    app.post('/tf-setup/:tf_state_token', async () => ({ ok: true }));
    app.post('/mf-recovery', async () => ({ ok: true }));
    app.get('/tf-setup', async () => ({ ok: true }));
    await app.ready();
    try {
      const post = (url: string) =>
        app.inject({ method: 'POST', url, payload: {}, headers: { 'x-forwarded-for': '198.51.100.7' } });
      assert.equal((await post('/tf-setup/abc')).statusCode, 200);
      assert.equal((await post('/mf-recovery')).statusCode, 200);
      const limited = await post('/tf-setup/def');
      assert.equal(limited.statusCode, 429);
      assert.equal(JSON.parse(limited.body).response.error_code, 'RATE_LIMITED');
      assert.equal(
        (await app.inject({ method: 'GET', url: '/tf-setup', headers: { 'x-forwarded-for': '198.51.100.7' } }))
          .statusCode,
        200,
      );
    } finally {
      await app.close();
    }
  });
});
