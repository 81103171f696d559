import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';

/** SPEC §1: bad input of every kind is a clear 4xx in the envelope, never a 500. */
describe(`wire conventions and bad input (${DB_KIND})`, () => {
  let t: TestApp;
  const client = () => new Client(() => t.app);
  before(async () => {
    t = await createTestApp({ SECURITY_REGISTERABLE: 'true' });
  });
  after(() => t.close());

  function assertError(
    res: { statusCode: number; data: any; headers: Record<string, unknown> },
    status: number,
    code: string,
  ) {
    assert.equal(res.statusCode, status, JSON.stringify(res.data));
    assert.equal(res.data.meta.code, status);
    assert.equal(res.data.response.error_code, code);
    assert.ok(Array.isArray(res.data.response.errors) && res.data.response.errors.length > 0);
    assert.equal(typeof res.data.response.field_errors, 'object');
    assert.equal(res.headers['cache-control'], 'no-store');
  }

  test('unknown path is 404, wrong method 405 with Allow', async () => {
    assertError(await client().get('/nope'), 404, 'NOT_FOUND');
    const res = await client().request('PUT', '/login', {});
    assertError(res, 405, 'METHOD_NOT_ALLOWED');
    assert.match(String(res.headers.allow), /POST/);
    assertError(await client().request('DELETE', '/me'), 405, 'METHOD_NOT_ALLOWED');
  });

  test('non-JSON content types are 415', async () => {
    assertError(
      await client().post('/login', 'email=a', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assertError(
      await client().post('/login', 'hello', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  test('malformed JSON is 400, bodies over 64 KiB are 413', async () => {
    assertError(await client().post('/login', '{"email":', {}), 400, 'MALFORMED_JSON');
    assertError(await client().post('/login', '{"__proto__":{"x":1}}', {}), 400, 'MALFORMED_JSON');
    const big = JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(70 * 1024) });
    assertError(await client().post('/login', big), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('wrong types are API_ERROR on the field; missing fields REQUIRED', async () => {
    const num = await client().post('/login', { email: 5, password: 'x' });
    assertError(num, 400, 'API_ERROR');
    assert.deepEqual(num.data.response.field_errors.email, ['Input not appropriate for requested API']);
    const obj = await client().post('/login', { email: 'a@b.co', password: { $gt: '' } });
    assertError(obj, 400, 'API_ERROR');
    assert.ok(obj.data.response.field_errors.password);
    const rem = await client().post('/login', { email: 'a@b.co', password: 'password', remember: 'yes' });
    assertError(rem, 400, 'API_ERROR');
    assert.ok(rem.data.response.field_errors.remember);
    const missing = await client().post('/login', {});
    assertError(missing, 400, 'REQUIRED');
    assert.deepEqual(missing.data.response.field_errors, {
      email: ['This field is required.'],
      password: ['This field is required.'],
    });
    assertError(await client().post('/login', [1, 2]), 400, 'API_ERROR');
    assertError(await client().post('/login', '"just a string"'), 400, 'API_ERROR');
    assertError(await client().post('/login', 'null'), 400, 'REQUIRED');
  });

  test('absurd values are refused cleanly', async () => {
    assertError(await client().post('/login', { email: 'a'.repeat(400), password: 'password' }), 400, 'API_ERROR');
    assertError(await client().post('/login', { email: 'a@b.co', password: 'p'.repeat(5000) }), 400, 'API_ERROR');
    assertError(
      await client().post('/register', { email: 'not-an-email', password: 'password-1' }),
      400,
      'INVALID_EMAIL_ADDRESS',
    );
    assertError(
      await client().post('/register', { email: uniqueEmail(), password: 'short' }),
      400,
      'PASSWORD_INVALID_LENGTH',
    );
    assertError(await client().post('/register', { email: 'a\u0000@b.co', password: 'password-1' }), 400, 'API_ERROR');
    assertError(
      await client().post('/register', { email: 'a\u0007@b.co', password: 'password-1' }),
      400,
      'INVALID_EMAIL_ADDRESS',
    );
  });

  test('an empty JSON body on /logout is fine', async () => {
    const res = await client().post('/logout', '');
    assert.equal(res.statusCode, 200);
  });

  test('a signed-in POST without the CSRF token is refused; with it, accepted', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = client();
    await c.login(email, 'password-1');
    const token = c.csrf!;
    c.csrf = undefined;
    assertError(await c.post('/verify', { password: 'password-1' }), 400, 'CSRF_TOKEN_MISSING');
    assertError(
      await c.post('/verify', { password: 'password-1' }, { 'x-csrf-token': 'forged' }),
      400,
      'CSRF_TOKEN_INVALID',
    );
    assertError(await c.post('/logout', {}), 400, 'CSRF_TOKEN_MISSING');
    assert.equal((await c.get('/me')).statusCode, 200, 'the refused logout did not sign out');
    assert.equal((await c.post('/verify', { password: 'password-1' }, { 'x-xsrf-token': token })).statusCode, 200);
    assert.equal((await c.post('/verify', { password: 'password-1', csrf_token: token })).statusCode, 200);
    assert.equal((await c.post('/logout', {}, { 'x-csrf-token': token })).statusCode, 200);
  });

  test('the CSRF token of one session does not work for another', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const a = client();
    const b = client();
    await a.login(email, 'password-1');
    await b.login(email, 'password-1');
    assertError(
      await a.post('/verify', { password: 'password-1' }, { 'x-csrf-token': b.csrf! }),
      400,
      'CSRF_TOKEN_INVALID',
    );
  });

  test('a state change from a foreign Origin is 403; same origin and no Origin pass', async () => {
    const foreign = await client().post(
      '/login',
      { email: 'a@b.co', password: 'password' },
      { origin: 'https://evil.example' },
    );
    assertError(foreign, 403, 'ORIGIN_NOT_ALLOWED');
    const same = await client().post(
      '/login',
      { email: 'a@b.co', password: 'password' },
      { origin: 'http://localhost:80', host: 'localhost:80' },
    );
    assert.equal(same.statusCode, 400);
    assert.equal(same.data.response.error_code, 'GENERIC_AUTHN_FAILED');
  });

  test('CORS_ORIGINS lets a listed SPA call with credentials', async () => {
    await t.rebuild({ SECURITY_REGISTERABLE: 'true', CORS_ORIGINS: 'https://spa.example' });
    try {
      const pre = await client().request('OPTIONS', '/login', undefined, {
        origin: 'https://spa.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-csrf-token',
      });
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://spa.example');
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      const res = await client().post(
        '/login',
        { email: 'a@b.co', password: 'password' },
        { origin: 'https://spa.example' },
      );
      assert.equal(res.statusCode, 400);
      assert.equal(res.headers['access-control-allow-origin'], 'https://spa.example');
      assertError(await client().post('/login', {}, { origin: 'https://other.example' }), 403, 'ORIGIN_NOT_ALLOWED');
    } finally {
      await t.rebuild({ SECURITY_REGISTERABLE: 'true' });
    }
  });

  test('operations endpoints answer without the envelope', async () => {
    const h = await client().get('/healthz');
    assert.equal(h.statusCode, 200);
    assert.deepEqual(h.data, { status: 'ok' });
    const r = await client().get('/readyz');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.data, { status: 'ok' });
  });
});
