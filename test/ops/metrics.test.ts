import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createTestApp, createUser, METRICS_AUTH, testConfig, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { freePort } from '../helpers/ports.js';
import { sample } from '../helpers/prometheus.js';

describe(`GET /metrics (${DB_KIND})`, () => {
  let t: TestApp;
  let other: TestApp;
  const scrape = async (app = t) =>
    (await app.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_AUTH })).body;
  before(async () => {
    t = await createTestApp();
    // A second app in the same process and database: its counters must stay its own.
    other = await createTestApp({}, t.database);
  });
  after(async () => {
    await other.close();
    await t.close();
  });

  test('is Prometheus text without the envelope, with process metrics', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_AUTH });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.ok(!res.body.startsWith('{'), 'no JSON envelope');
    assert.match(res.body, /^# HELP tfa_signins_total /m);
    assert.notEqual(sample(res.body, 'process_cpu_user_seconds_total'), undefined);
    assert.notEqual(sample(res.body, 'nodejs_heap_size_used_bytes'), undefined);
  });

  test('counts sign-ins by outcome, per app', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const before = await scrape();
    assert.equal((await new Client(() => t.app).login(email, 'wrong-password')).statusCode, 400);
    assert.equal((await new Client(() => t.app).login(`nobody-${email}`, 'password-1')).statusCode, 400);
    assert.equal((await new Client(() => t.app).login(email, 'password-1')).statusCode, 200);
    const now = await scrape();
    const delta = (outcome: string) =>
      (sample(now, 'tfa_signins_total', { outcome }) ?? 0) - (sample(before, 'tfa_signins_total', { outcome }) ?? 0);
    assert.equal(delta('failure'), 2);
    assert.equal(delta('success'), 1);
    assert.equal(
      sample(await scrape(other), 'tfa_signins_total', { outcome: 'success' }),
      undefined,
      'the other app counted nothing',
    );
  });

  test('requests are counted by route pattern, method and status; unknown paths share one series', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz?probe=1' });
    await t.app.inject({ method: 'GET', url: '/no-such-path/123' });
    await t.app.inject({ method: 'GET', url: '/no-such-path/456' });
    const text = await scrape();
    assert.ok(
      (sample(text, 'tfa_http_requests_total', { method: 'GET', route: '/healthz', status_code: '200' }) ?? 0) >= 1,
    );
    assert.equal(sample(text, 'tfa_http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' }), 2);
    assert.ok(!text.includes('no-such-path'), 'raw URLs never become label values');
    assert.ok(
      (sample(text, 'tfa_http_request_duration_seconds_count', {
        method: 'GET',
        route: 'unmatched',
        status_code: '404',
      }) ?? 0) === 2,
    );
    // The histogram as Prometheus reads it: cumulative buckets up to +Inf (the count), and a sum.
    const series = { method: 'GET', route: 'unmatched', status_code: '404' };
    const buckets = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'].map((le) =>
      sample(text, 'tfa_http_request_duration_seconds_bucket', { ...series, le }),
    );
    assert.ok(
      buckets.every((v, i) => v !== undefined && (i === 0 || v >= buckets[i - 1]!)),
      `cumulative: ${buckets.join(' ')}`,
    );
    assert.equal(buckets.at(-1), 2);
    const sum = sample(text, 'tfa_http_request_duration_seconds_sum', series);
    assert.ok(sum !== undefined && sum > 0 && sum < 20, `sum ${sum}`);
    assert.match(text, /# TYPE tfa_http_request_duration_seconds histogram/);
    assert.match(text, /# TYPE tfa_http_requests_total counter/);
  });

  test('tfa_db_queries_total follows the statements the database sent', async () => {
    const first = sample(await scrape(), 'tfa_db_queries_total') ?? 0;
    await new Client(() => t.app).login(uniqueEmail('absent'), 'password-1');
    const second = sample(await scrape(), 'tfa_db_queries_total') ?? 0;
    assert.ok(first > 0, 'migrations and earlier requests sent statements');
    assert.ok(second > first, `a sign-in queries the database (${first} → ${second})`);
    assert.equal(second, t.database.stats.queries);
  });

  test('the recording methods the two-factor feature calls show up with their labels', async () => {
    const metrics = createMetrics(t.database);
    metrics.codeSent('sms', 'rate_limited');
    metrics.codeValidated('authenticator', 'failure');
    metrics.codeValidated('Not A Word!', 'success');
    metrics.lockout();
    metrics.senderFailure('email');
    metrics.signIn('pending_second_factor');
    const app = await buildApp({
      config: t.config,
      database: t.database,
      logger: createLogger('silent'),
      clock: t.clock,
      senders: t.senders,
      metrics,
    });
    try {
      const text = (await app.inject({ method: 'GET', url: '/metrics', headers: METRICS_AUTH })).body;
      assert.equal(sample(text, 'tfa_codes_sent_total', { method: 'sms', outcome: 'rate_limited' }), 1);
      assert.equal(sample(text, 'tfa_codes_validated_total', { method: 'authenticator', outcome: 'failure' }), 1);
      assert.equal(
        sample(text, 'tfa_codes_validated_total', { method: 'other', outcome: 'success' }),
        1,
        'odd method names are folded',
      );
      assert.equal(sample(text, 'tfa_lockouts_total'), 1);
      assert.equal(sample(text, 'tfa_sender_failures_total', { channel: 'email' }), 1);
      assert.equal(sample(text, 'tfa_signins_total', { outcome: 'pending_second_factor' }), 1);
    } finally {
      await app.close();
    }
  });

  test('METRICS_ENABLED=false: /metrics is 404', async () => {
    const app = await buildApp({
      config: testConfig({ METRICS_ENABLED: 'false' }),
      database: t.database,
      logger: createLogger('silent'),
      clock: t.clock,
      senders: t.senders,
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 404);
      assert.equal(JSON.parse(res.body).response.error_code, 'NOT_FOUND');
    } finally {
      await app.close();
    }
  });

  test('METRICS_PORT: its own listener, opened with the app and closed with it; not on the API port', async () => {
    const port = await freePort();
    const app = await buildApp({
      config: testConfig({ METRICS_PORT: String(port) }),
      database: t.database,
      logger: createLogger('silent'),
      clock: t.clock,
      senders: t.senders,
    });
    await app.ready();
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
      await app.inject({ method: 'GET', url: '/healthz' });
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(
        sample(await res.text(), 'tfa_http_requests_total', { method: 'GET', route: '/healthz', status_code: '200' }),
        1,
      );
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
      assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
    } finally {
      await app.close();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'closed with the app');
  });
});
