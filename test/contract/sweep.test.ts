/**
 * Every documented operation, asked in each way a client can get it wrong
 * (or right) by callers in each state: the contract check (installed by
 * createTestApp) fails the test on any answer openapi.yaml does not allow, so
 * the statuses, error codes and headers of the whole surface are held to the
 * document, not only the happy paths the API tests walk.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { documentedOperations, toFastifyPath } from '../helpers/openapi-contract.js';
import { enrolAuthenticator, enrolEmail, signedIn } from '../helpers/two-factor.js';

const STATE_CHANGING = new Set(['POST', 'DELETE']);

describe(`every operation answers as documented (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ SECURITY_REGISTERABLE: 'true' });
  });
  after(() => t.close());

  /** Documented operations this app serves (a missing one is the route-drift test's business). */
  function operations() {
    return documentedOperations()
      .filter((o) => t.app.hasRoute({ method: o.method, url: toFastifyPath(o.path) }))
      .map((o) => ({ method: o.method, url: o.path.replace(/\{[^}]+\}/g, 'x') }));
  }

  async function everyOperation(
    make: () => Promise<Client> | Client,
    body: unknown = {},
    headers: Record<string, string> = {},
  ) {
    for (const { method, url } of operations()) {
      const c = await make();
      const res = await c.request(method, url, STATE_CHANGING.has(method) ? body : undefined, headers);
      assert.notEqual(res.statusCode, 500, `${method} ${url}: ${res.body}`);
    }
  }

  test('anonymous callers', () => everyOperation(() => new Client(() => t.app)));

  test('anonymous callers with an auth-token flag', async () => {
    for (const { method, url } of operations())
      await new Client(() => t.app).request(
        method,
        `${url}?include_auth_token`,
        STATE_CHANGING.has(method) ? {} : undefined,
      );
  });

  test('a foreign Origin', () => everyOperation(() => new Client(() => t.app), {}, { origin: 'https://evil.example' }));

  test('bodies that are not JSON, not valid, or too large', async () => {
    await everyOperation(() => new Client(() => t.app), 'setup=email', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    await everyOperation(() => new Client(() => t.app), '{"code":');
    await everyOperation(() => new Client(() => t.app), JSON.stringify({ code: 'x'.repeat(70 * 1024) }));
  });

  test('a signed-in session, with and without its CSRF token', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    await everyOperation(() => c, { csrf_token: 'wrong' }, { 'x-csrf-token': 'wrong' });
    await everyOperation(async () => signedIn(t, email, 'password-1'));
  });

  test('a signed-in user with a method, past the freshness window', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    await enrolEmail(t, c, email);
    t.clock.advance(26 * 3600_000);
    await everyOperation(() => c);
  });

  test('an Authentication-Token caller', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const login = await new Client(() => t.app).login(email, 'password-1', {}, '?include_auth_token');
    const token = login.data.response.user.authentication_token as string;
    await everyOperation(() => new Client(() => t.app), {}, { 'authentication-token': token });
    await everyOperation(() => new Client(() => t.app), {}, { 'authentication-token': `${token}x` });
  });

  test('a pending sign-in (ready) and a pending first setup', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    // An authenticator, so that signing in again and again sends nothing (no send limit).
    await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    await everyOperation(async () => {
      const p = new Client(() => t.app);
      assert.equal((await p.login(email, 'password-1')).data.response.tf_state, 'ready');
      return p;
    });
    await t.rebuild({ SECURITY_REGISTERABLE: 'true', SECURITY_TWO_FACTOR_REQUIRED: 'true' });
    try {
      const fresh = uniqueEmail();
      await createUser(t.database, fresh, 'password-1');
      await everyOperation(async () => {
        const p = new Client(() => t.app);
        assert.equal((await p.login(fresh, 'password-1')).data.response.tf_state, 'setup_from_login');
        return p;
      });
    } finally {
      await t.rebuild({ SECURITY_REGISTERABLE: 'true' });
    }
  });

  test('HEAD of every GET, and methods no path has', async () => {
    for (const { method, url } of operations())
      if (method === 'GET') await new Client(() => t.app).request('HEAD', url);
    for (const { url } of operations())
      for (const m of ['PUT', 'PATCH']) await new Client(() => t.app).request(m, url, {});
    await new Client(() => t.app).request('POST', '/nope', {}, { origin: 'https://evil.example' });
    await new Client(() => t.app).request('DELETE', '/me', undefined, { origin: 'https://evil.example' });
  });
});
