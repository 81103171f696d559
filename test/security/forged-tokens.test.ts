/**
 * Threat: the Authentication-Token's payload is read before its signature is
 * checked (to find whose fs_uniquifier signs it), so anyone can put anything
 * there without a key. A user id that is not a Postgres integer (2147483648,
 * 1e21) reached the database and came back as 500 with a stack trace in the
 * log, on every endpoint, to anyone: a free way to fill logs and alerts and to
 * tell this service apart. A token that does not verify must be treated like
 * every other bad token: 401 where a caller is needed (ignored where none is,
 * openapi.yaml "Authentication"), never 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { documentedOperations } from '../helpers/openapi-document.js';

/** An unsigned token claiming user `u`, valid in time. */
function forged(u: unknown): string {
  const now = Math.floor(Date.now() / 1000);
  return `${Buffer.from(JSON.stringify({ u, i: now, e: now + 3600 })).toString('base64url')}.forged-signature`;
}

const BAD_IDS: unknown[] = [2147483648, 1e21, -1, 0, -2147483649, 1.5, '1', 'abc', null, [1], { a: 1 }, 2 ** 53, 1e308];

describe(`forged Authentication-Token user ids are 401, never 500 (${DB_KIND})`, () => {
  let t: TestApp;
  let userId: number;
  before(async () => {
    t = await createTestApp({
      SECURITY_REGISTERABLE: 'true',
      SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
      // Every documented operation exists, unified sign-in's included.
      SECURITY_UNIFIED_SIGNIN: 'true',
    });
    userId = (await createUser(t.database, uniqueEmail('forged'), 'forged-token-password')).id;
  });
  after(() => t.close());

  const send = (method: string, path: string, token: string) =>
    t.app.inject({
      method: method as 'GET',
      url: path.replace(/\{[^}]+\}/g, 'x'),
      headers: { 'authentication-token': token, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
      ...(method === 'GET' ? {} : { payload: '{}' }),
    });

  test('on every documented operation, each bad id is answered like a real user id with a bad signature', async () => {
    for (const { method, path } of documentedOperations()) {
      // The same request with a token that names a real user but is not signed by us.
      const baseline = await send(method, path, forged(userId));
      assert.ok(baseline.statusCode < 500, `${method} ${path} baseline: ${baseline.statusCode}`);
      for (const id of BAD_IDS) {
        const res = await send(method, path, forged(id));
        const what = `${method} ${path} with user id ${JSON.stringify(id)}`;
        assert.ok(res.statusCode < 500, `${what}: ${res.statusCode} ${res.body}`);
        assert.equal(res.statusCode, baseline.statusCode, `${what}: answered unlike a bad signature`);
      }
    }
    assert.ok(!t.logs.some((l) => l.includes('"level":50')), 'no error logged');
  });

  test('where a caller is needed the answer is 401 UNAUTHENTICATED in the envelope', async () => {
    for (const [method, path] of [
      ['GET', '/me'],
      ['POST', '/change'],
      ['POST', '/verify'],
      ['POST', '/mf-recovery-codes'],
      ['GET', '/tf-devices'],
    ] as const) {
      for (const id of [2147483648, 1e21, -5, 'abc']) {
        const res = await send(method, path, forged(id));
        assert.equal(res.statusCode, 401, `${method} ${path} ${id}: ${res.body}`);
        assert.equal(JSON.parse(res.body).response.error_code, 'UNAUTHENTICATED');
        assert.equal(res.headers['cache-control'], 'no-store');
      }
    }
  });

  test('a burst of forged tokens with out-of-range ids on /me: all 401', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => send('GET', '/me', forged(2147483648 + i))));
    assert.deepEqual(new Set(answers.map((r) => r.statusCode)), new Set([401]));
  });
});
