/**
 * Threat: a log line that holds a session cookie, an authentication token or a
 * CSRF token lets anyone who reads the logs (a log pipeline, a support
 * engineer) act as the user (SPEC §10). And a forged request id must not be
 * able to inject lines or noise into the logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import type { FastifyInstance } from 'fastify';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { suiteLogged } from '../helpers/suite-log.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe(`request ids and request logs (${DB_KIND})`, () => {
  let t: TestApp;
  let app: FastifyInstance;
  const lines: string[] = [];
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  before(async () => {
    t = await createTestApp();
    // Trace level: whatever Fastify or we would log at any level is in `lines`.
    const logger = createLogger(
      'trace',
      suiteLogged((line) => void lines.push(line)),
    );
    app = await buildApp({ config: t.config, database: t.database, logger, clock: t.clock, senders: t.senders });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('an incoming X-Request-Id is kept, echoed, and on the one completion line', async () => {
    const id = 'edge-7f3a.2:b_C-9';
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
    assert.equal(res.headers['x-request-id'], id);
    const mine = parsed().filter((l) => l.reqId === id);
    const completed = mine.filter((l) => l.msg === 'request completed');
    assert.equal(completed.length, 1, 'one completion line');
    assert.deepEqual(completed[0]!.req, { method: 'GET', url: '/healthz', id, ip: '127.0.0.1' });
    assert.equal(completed[0]!.route, '/healthz');
    assert.equal(completed[0]!.res.statusCode, 200);
    assert.equal(typeof completed[0]!.responseTime, 'number');
    assert.equal(
      mine.filter((l) => l.level >= 30 && l.msg !== 'request completed').length,
      0,
      'nothing else at info for a health check',
    );
  });

  test('without an id each request gets a random UUID, also on errors', async () => {
    const a = await app.inject({ method: 'GET', url: '/healthz' });
    const b = await app.inject({
      method: 'POST',
      url: '/login',
      payload: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(b.statusCode, 415);
    assert.match(String(a.headers['x-request-id']), UUID);
    assert.match(String(b.headers['x-request-id']), UUID);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  test('an absurd incoming id is replaced, never logged', async () => {
    const absurd = ['x'.repeat(129), 'two words', 'semi;colon', 'slash/ed', 'quo"te', 'ünïcode', '\u001b[31mred'];
    for (const id of absurd) {
      const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
      assert.match(String(res.headers['x-request-id']), UUID, `replaced: ${JSON.stringify(id)}`);
      assert.ok(!lines.join('').includes(JSON.stringify(id).slice(1, -1)), `not logged: ${JSON.stringify(id)}`);
    }
    const longest = 'a'.repeat(128);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': longest } })).headers[
        'x-request-id'
      ],
      longest,
    );
  });

  test('a signed-in request with cookie, Authentication-Token and X-CSRF-Token logs none of them', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = new Client(() => app);
    const login = await c.login(email, 'password-1', {}, '?include_auth_token');
    assert.equal(login.statusCode, 200);
    const token: string = login.data.response.user.authentication_token;
    const cookie = c.cookies.get('session')!;
    const csrf = c.csrf!;
    assert.ok(token && cookie && csrf);
    const me = await c.get('/me', {
      'authentication-token': token,
      'x-csrf-token': csrf,
      'x-request-id': 'redaction-check',
    });
    assert.equal(me.statusCode, 200);
    assert.equal(
      (await c.post('/verify', { password: 'password-1' }, { 'authentication-token': token })).statusCode,
      200,
    );
    assert.equal((await c.post('/logout')).statusCode, 200);

    assert.ok(
      parsed().some((l) => l.reqId === 'redaction-check' && l.msg === 'request completed'),
      'the request was logged',
    );
    const text = lines.join('\n');
    for (const [what, secret] of [
      ['session cookie', cookie],
      ['cookie id part', cookie.split('.')[0]!],
      ['auth token', token],
      ['csrf token', csrf],
      ['password', 'password-1'],
    ] as const) {
      assert.ok(!text.includes(secret), `the logs hold the ${what}`);
    }
  });

  test('headers logged by hand are redacted too', () => {
    const out: string[] = [];
    const logger = createLogger(
      'info',
      suiteLogged((line) => void out.push(line)),
    );
    const headers = {
      cookie: 'session=s3cret-cookie',
      'authentication-token': 't0ken-value',
      'x-csrf-token': 'csrf-value',
      'x-xsrf-token': 'xsrf-value',
      authorization: 'Bearer b3arer',
      'user-agent': 'curl/8',
    };
    logger.info({ headers }, 'debugging');
    logger.info({ req: { method: 'GET', url: '/me?token=abc', id: '1', headers } }, 'debugging');
    const text = out.join('');
    for (const secret of ['s3cret-cookie', 't0ken-value', 'csrf-value', 'xsrf-value', 'b3arer', 'token=abc'])
      assert.ok(!text.includes(secret), secret);
    assert.ok(text.includes('curl/8'), 'harmless headers stay readable');
  });
});
