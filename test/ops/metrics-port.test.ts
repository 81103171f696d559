/*
 * Threat (issue #15, item 11): /metrics on the public API port tells anyone how
 * many sign-ins fail, how many codes go out and which routes are hot: an
 * attacker's dashboard for tuning a guessing or SMS-pumping campaign. By
 * default it must live on a port of its own on loopback; on the API port only
 * behind a token. And a port clash must stop the start with one line saying what
 * to change, not a stack trace the operator has to decode.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createTestApp, METRICS_AUTH, TEST_SECRETS, type TestApp } from '../helpers/app.js';
import { configProblems } from '../helpers/config-problems.js';
import { DB_KIND } from '../helpers/db.js';
import { freePort } from '../helpers/ports.js';
import { createServiceDatabase, runServiceToExit, type ServiceDatabase } from '../helpers/service-process.js';

describe(`metrics are not public (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('by default metrics get their own listener on loopback, and the API port has no /metrics', async () => {
    const defaults = loadConfig({ ...TEST_SECRETS });
    assert.equal(defaults.METRICS_PORT, 9464);
    assert.equal(defaults.METRICS_HOST, '127.0.0.1');
    const port = await freePort();
    await t.rebuild({ METRICS_PORT: String(port), METRICS_TOKEN: '' });
    try {
      const onApi = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(onApi.statusCode, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
    } finally {
      await t.rebuild();
    }
  });

  test('METRICS_PORT=0: /metrics on the API port wants the bearer token', async () => {
    const get = (headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: '/metrics', headers });
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong' },
      { authorization: METRICS_AUTH.authorization + 'x' },
    ]) {
      const refused = await get(headers);
      assert.equal(refused.statusCode, 401, JSON.stringify(headers));
      assert.equal(JSON.parse(refused.body).response.error_code, 'UNAUTHENTICATED');
      assert.doesNotMatch(refused.body, /tfa_/);
    }
    const ok = await get(METRICS_AUTH);
    assert.equal(ok.statusCode, 200);
    assert.match(ok.body, /^# HELP tfa_/m);
  });

  test('METRICS_PORT=0 without a token, or the API port twice, is refused at start', () => {
    const problems = configProblems;
    assert.match(problems({ METRICS_PORT: '0' }).join('\n'), /^METRICS_PORT=0 serves \/metrics on the public API port/);
    assert.match(problems({ METRICS_PORT: '3000' }).join('\n'), /^METRICS_PORT and PORT are both 3000/);
    assert.deepEqual(problems({ METRICS_PORT: '0', METRICS_ENABLED: 'false' }), []);
  });
});

describe('a metrics port in use stops the start with one clear line', () => {
  let database: ServiceDatabase;
  before(async () => {
    database = await createServiceDatabase();
  });
  after(() => database.drop());

  test('the real service exits 1 naming METRICS_PORT, without a stack trace', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      const { status, stderr } = runServiceToExit({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        ...TEST_SECRETS,
        LOG_LEVEL: 'warn',
        ...database.env,
        METRICS_PORT: String(port),
      });
      assert.equal(status, 1);
      assert.equal(
        stderr.trim(),
        `METRICS_PORT ${port} is in use on 127.0.0.1 (another instance or exporter?): ` +
          'set METRICS_PORT to a free port, or 0 to serve /metrics on the API port with METRICS_TOKEN',
      );
    } finally {
      squatter.close();
    }
  });
});
