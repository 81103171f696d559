/**
 * Graceful shutdown of the real process (SPEC §3 Operations, Dockerfile
 * STOPSIGNAL): on SIGTERM the service stops taking connections, answers the
 * requests it is already reading, closes the database and exits 0. A request
 * that outlives SHUTDOWN_TIMEOUT ends the wait: exit 1.
 */
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { createServiceDatabase, startService, type ServiceDatabase } from '../helpers/service-process.js';

interface Answer {
  status: number;
  body: any;
  at: number;
}

/**
 * A real slow client: the JSON body goes out a few bytes at a time (~40 ms
 * apart). It sends the first half, then waits for `release` before the rest,
 * so the test decides when the server is "mid-request" instead of guessing
 * with timings. Without `release` resolving, it stalls for good.
 */
function slowClient(url: string, path: string, body: unknown, release: Promise<void>): Promise<Answer> {
  const payload = Buffer.from(JSON.stringify(body));
  const req = request(`${url}${path}`, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': payload.length,
      'x-request-id': `slow${path.replace('/', '-')}`,
    },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), at: Date.now() }));
    });
    req.on('error', reject);
  });
  void (async () => {
    for (let i = 0; i < payload.length; i += 4) {
      if (i >= payload.length / 2) await release;
      req.write(payload.subarray(i, i + 4));
      await sleep(40);
    }
    req.end();
  })();
  return answer;
}

/** What a new client gets: 'refused', or the status of its answer. */
async function newConnection(url: string): Promise<string | number> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : `error ${err.code}`),
    );
    req.end();
  });
}

const started = (id: string) => (l: Record<string, any>) => l.msg === 'incoming request' && l.reqId === id;

describe(`graceful shutdown of the service process (${DB_KIND})`, () => {
  let database: ServiceDatabase;
  before(async () => {
    database = await createServiceDatabase();
  });
  after(() => database.drop());

  test('SIGTERM: in-flight requests are answered, new connections refused, exit 0', async () => {
    const svc = await startService({
      ...database.env,
      LOG_LEVEL: 'debug',
      SECURITY_REGISTERABLE: 'true',
      SHUTDOWN_TIMEOUT: '60',
    });
    assert.equal(await newConnection(svc.url), 200, 'ready before the signal');

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const register = slowClient(
      svc.url,
      '/register',
      { email: 'drain@example.com', password: 'a long password' },
      released,
    );
    const wrong = slowClient(svc.url, '/login', { email: 'nobody@example.com', password: 'wrong password' }, released);
    // The server is reading both requests (their bodies are half sent) when the signal comes.
    await svc.waitForLog(started('slow-register'));
    await svc.waitForLog(started('slow-login'));
    svc.kill('SIGTERM');
    await svc.waitForLog((l) => l.msg === 'shutting down: finishing in-flight requests');

    let late: string | number = 200;
    while (late === 200) late = await newConnection(svc.url); // until the listener has closed
    assert.ok(late === 'refused' || late === 503, `a new connection during the drain got ${late}`);
    const turnedAwayAt = Date.now();
    release();

    const [reg, bad] = await Promise.all([register, wrong]);
    assert.ok(reg.at > turnedAwayAt && bad.at > turnedAwayAt, 'answered after new connections were turned away');
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(
      reg.body.response.user.email,
      'drain@example.com',
      'the in-flight registration was written and answered',
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.response.error_code, 'GENERIC_AUTHN_FAILED');

    assert.equal(await svc.exited, 0);
    const msgs = svc.logs().map((l) => l.msg);
    const tail = () =>
      svc
        .logs()
        .slice(-12)
        .map((l) => JSON.stringify(l))
        .join('\n');
    assert.ok(
      msgs.indexOf('stopped') > msgs.lastIndexOf('request completed'),
      `stopped after the last answer:\n${tail()}`,
    );
  });

  test('SHUTDOWN_TIMEOUT bounds the wait for a client that never finishes: exit 1', async () => {
    const svc = await startService({ ...database.env, LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT: '1' });
    const stalled = slowClient(
      svc.url,
      '/login',
      { email: 'stall@example.com', password: 'never sent in full' },
      new Promise(() => {}),
    );
    stalled.catch(() => {}); // the socket dies with the process
    await svc.waitForLog(started('slow-login'));
    svc.kill('SIGTERM');
    assert.equal(await svc.exited, 1);
    assert.ok(svc.logs().some((l) => l.msg === 'shutdown timed out; exiting'));
    assert.ok(!svc.logs().some((l) => l.msg === 'stopped'));
  });
});

describe(`readiness while draining (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('/readyz turns 503 when the lifecycle is draining; /healthz stays 200', async () => {
    const lifecycle = { draining: false };
    const app = await buildApp({
      config: t.config,
      database: t.database,
      logger: createLogger('silent'),
      clock: t.clock,
      senders: t.senders,
      lifecycle,
    });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      lifecycle.draining = true;
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(JSON.parse(res.body), { status: 'unavailable' });
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
