/**
 * Threat: answers outside the envelope. Fastify's own refusals (a path
 * parameter over its length limit, an undecodable URL, a request Node cannot
 * parse) and failures after the handler (the session written in onSend) came
 * back as Fastify's raw JSON: with the Postgres message in it, without
 * Cache-Control: no-store (a proxy may cache and replay it) and without the
 * X-Request-Id a user quotes to support. Clients that parse only the envelope
 * break exactly when something went wrong. Every answer, whatever fails, is
 * the envelope with both headers.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createTestApp, createUser, testConfig, uniqueEmail, type Res, type TestApp } from '../helpers/app.js';
import { suiteLogged } from '../helpers/suite-log.js';
import { enrolEmail, signedIn } from '../helpers/two-factor.js';
import { DB_KIND } from '../helpers/db.js';

function assertEnvelope(
  status: number,
  errorCode: string,
  res: { statusCode: number; headers: Res['headers']; body: string },
  what: string,
): void {
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  const body = JSON.parse(res.body);
  assert.deepEqual(Object.keys(body).sort(), ['meta', 'response'], `${what}: ${res.body}`);
  assert.equal(body.meta.code, status, what);
  assert.equal(body.response.error_code, errorCode, what);
  assert.ok(Array.isArray(body.response.errors), what);
  assert.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control`);
  assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/, `${what}: X-Request-Id`);
  assert.match(String(res.headers['content-type']), /^application\/json/, what);
}

/** A raw HTTP exchange on a real socket, for what inject() cannot send. */
function rawRequest(
  port: number,
  request: string,
): Promise<{ statusCode: number; headers: Res['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const [status, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ statusCode: Number(status?.split(' ')[1]), headers, body });
    });
    socket.end(request);
  });
}

describe(`every answer is the envelope with no-store and X-Request-Id (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const post = (url: string, payload: string, contentType = 'application/json') =>
    t.app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

  test("Fastify's own refusals", async () => {
    const cases: Array<[string, Promise<Res>, number, string]> = [
      ['a path parameter over 256 characters', post(`/tf-setup/${'a'.repeat(300)}`, '{}'), 414, 'URI_TOO_LONG'],
      ['an undecodable URL', post('/tf-setup/%E0%A4%A', '{}'), 404, 'NOT_FOUND'],
      ['an unknown path', t.app.inject({ method: 'GET', url: '/no/such/path' }), 404, 'NOT_FOUND'],
      ['a known path, wrong method', t.app.inject({ method: 'PUT', url: '/login' }), 405, 'METHOD_NOT_ALLOWED'],
      ['text/plain', post('/login', 'email=a', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no content type', t.app.inject({ method: 'POST', url: '/login', payload: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a body over 64 KiB', post('/login', JSON.stringify({ email: 'x'.repeat(70_000) })), 413, 'PAYLOAD_TOO_LARGE'],
      ['invalid JSON', post('/login', '{"email":'), 400, 'MALFORMED_JSON'],
      ['a __proto__ key', post('/login', '{"__proto__":{"x":1}}'), 400, 'MALFORMED_JSON'],
    ];
    for (const [what, pending, status, code] of cases) assertEnvelope(status, code, await pending, what);
  });

  test('requests Node cannot parse, on a real socket', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = t.app.server.address() as { port: number };
      assertEnvelope(400, 'API_ERROR', await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n'), 'a garbage request line');
      assertEnvelope(
        431,
        'HEADERS_TOO_LARGE',
        await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
        'headers over 16 KiB',
      );
    } finally {
      await t.app.close();
      await t.rebuild();
    }
  });

  describe('a failure after the handler: the session write in onSend', () => {
    let email: string;
    const password = 'onsend-failure-password-1';
    before(async () => {
      email = uniqueEmail('onsend');
      await createUser(t.database, email, password);
    });
    async function failingSessionWrites(errcode: string, work: () => Promise<void>): Promise<void> {
      await sql
        .raw(
          `CREATE FUNCTION test_refuse_session() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'secret-internal-detail %', NEW.id_hash USING ERRCODE = '${errcode}'; END $$`,
        )
        .execute(t.database.db);
      await sql`CREATE TRIGGER test_refuse_session BEFORE INSERT OR UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION test_refuse_session()`.execute(
        t.database.db,
      );
      try {
        await work();
      } finally {
        await sql`DROP TRIGGER test_refuse_session ON sessions`.execute(t.database.db);
        await sql`DROP FUNCTION test_refuse_session()`.execute(t.database.db);
      }
    }
    const login = () => t.app.inject({ method: 'POST', url: '/login', payload: { email, password } });

    test('an unexpected database error: 500 INTERNAL_ERROR, no Postgres message, no cookie', async () => {
      await failingSessionWrites('XX000', async () => {
        const res = await login();
        assertEnvelope(500, 'INTERNAL_ERROR', res, 'POST /login whose session write fails');
        assert.ok(!res.body.includes('secret-internal-detail'), res.body);
        assert.equal(res.headers['set-cookie'], undefined, 'no cookie for a session that was not written');
        // An internal error is not part of the contract: provoked on purpose.
        assert.match(t.contract.violations.map((v) => v.message).join(), /POST \/login → 500/);
        t.contract.clear();
      });
      assert.equal((await login()).statusCode, 200, 'and sign-in works once writes do');
    });

    test("a 4xx answer whose session change cannot be written: the envelope, not Fastify's fallback", async () => {
      // A pending sign-in, then a call in the wrong state: 400 TWO_FACTOR_PERMISSION_DENIED,
      // which also wipes the pending state from the session (a session write).
      const pending = uniqueEmail('onsend-4xx');
      await createUser(t.database, pending, password);
      const c = await signedIn(t, pending, password);
      await enrolEmail(t, c, pending);
      await c.post('/logout');
      assert.equal((await c.login(pending, password)).data.response.tf_required, true);
      assert.equal((await c.get('/tf-validate')).statusCode, 200, 'a pending sign-in');
      await failingSessionWrites('55000', async () => {
        const res = await c.post('/tf-setup', { setup: 'email' });
        assertEnvelope(503, 'SERVICE_UNAVAILABLE', res, 'a wrong-state call whose session write is refused');
        assert.ok(!res.body.includes('secret-internal-detail'), res.body);
      });
      // Once writes work again, the same call is answered as it always was.
      const after = await c.post('/tf-setup', { setup: 'email' });
      assert.equal(after.data.response.error_code, 'TWO_FACTOR_PERMISSION_DENIED', after.body);
    });

    test('the database refusing (SQLSTATE 55000) while writing the session: 503 SERVICE_UNAVAILABLE', async () => {
      await failingSessionWrites('55000', async () => {
        const res = await login();
        assertEnvelope(503, 'SERVICE_UNAVAILABLE', res, 'POST /login whose session write is refused');
        assert.ok(!res.body.includes('secret-internal-detail'), res.body);
      });
    });
  });

  test('a request arriving on a keep-alive connection while the app shuts down: 503 in the envelope', async () => {
    const app = await buildApp({
      config: testConfig(),
      database: t.database,
      logger: createLogger(
        'info',
        suiteLogged(() => {}),
      ),
      clock: t.clock,
      senders: t.senders,
    });
    let arrived!: () => void;
    const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
    let closingStarted!: () => void;
    const closing = new Promise<void>((resolve) => (closingStarted = resolve));
    app.addHook('onRequest', async () => arrived());
    app.addHook('preClose', async () => closingStarted());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'a wrong password' });
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // The first request is being read (half its body sent) when the shutdown begins…
    socket.write(
      `POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await firstArrived;
    const closed = app.close();
    await closing;
    // …then it completes, and a second request follows on the same connection.
    socket.write(`${body.slice(10)}GET /me HTTP/1.1\r\nHost: x\r\n\r\n`);
    await ended;
    await closed;
    const answers = data.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, data);
    assert.match(answers[0]!, /^HTTP\/1\.1 400 /, 'the request in flight is answered');
    const [head = '', second = ''] = answers[1]!.split('\r\n\r\n');
    const headers = Object.fromEntries(
      head
        .split('\r\n')
        .slice(1)
        .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    assertEnvelope(
      503,
      'SERVICE_UNAVAILABLE',
      { statusCode: Number(head.split(' ')[1]), headers, body: second },
      'GET /me during the drain',
    );
    assert.equal(headers.connection, 'close');
  });
});
