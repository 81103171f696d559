/**
 * Threat: a token outlives the sign-in that issued it. A backend service (or a
 * thief) holding an Authentication-Token keeps acting as the user after the
 * user signed out, or after the token's short life; or an instance that did
 * not see the sign-out keeps accepting it. Here: both headers carry the same
 * token, signing out (by cookie or by the token) revokes every token of that
 * sign-in on every instance at once (two apps on one database), an expired
 * token is refused, and SECURITY_TOKEN_STATELESS keeps Flask-Security's
 * stateless tokens on purpose. A malformed Authorization header is 401, never 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';

describe(`auth tokens: Bearer, revocation on sign-out, expiry (${DB_KIND})`, () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await createTestApp();
    // A second instance on the same database, with its own process state (clock, caches).
    b = await createTestApp({}, a.database);
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  async function tokenSignIn(t: TestApp = a): Promise<{ c: Client; token: string; email: string }> {
    const email = uniqueEmail('tok');
    await createUser(t.database, email, 'password-1');
    const c = new Client(() => t.app);
    const login = await c.login(email, 'password-1', {}, '?include_auth_token');
    assert.equal(login.statusCode, 200, login.body);
    return { c, token: login.data.response.user.authentication_token as string, email };
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const header = (token: string) => ({ 'authentication-token': token });
  const me = (t: TestApp, headers: Record<string, string>) => new Client(() => t.app).get('/me', headers);

  test('the token works in Authentication-Token and in Authorization: Bearer, on both instances', async () => {
    const { token, email } = await tokenSignIn();
    for (const t of [a, b]) {
      for (const h of [header(token), bearer(token), { authorization: `bearer   ${token}` }]) {
        const res = await me(t, h);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.data.response.user.email, email);
      }
    }
    // A token caller needs no CSRF token with either header.
    const verify = await new Client(() => a.app).post('/verify', { password: 'password-1' }, bearer(token));
    assert.equal(verify.statusCode, 200, verify.body);
  });

  test('Authentication-Token wins over Authorization; a token header means the session is not consulted', async () => {
    const { c, token } = await tokenSignIn();
    assert.equal((await me(a, { ...header(token), authorization: 'Bearer nonsense' })).statusCode, 200);
    assert.equal((await me(a, { ...header('nonsense'), ...bearer(token) })).statusCode, 401);
    // The browser session of the same sign-in, with a bad Bearer header: anonymous.
    assert.equal((await c.get('/me')).statusCode, 200);
    assert.equal((await c.get('/me', bearer('nonsense'))).statusCode, 401);
  });

  test('a malformed or foreign Authorization header is 401 (never 500) where a user is required', async () => {
    const { token } = await tokenSignIn();
    for (const authorization of [
      'Bearer',
      'Bearer ',
      'Bearer a b',
      `Bearer ${token} extra`,
      'Bearer ä',
      'Basic dXNlcjpwYXNz',
      `Bearer ${'x'.repeat(5000)}`,
      `Bearer ${Buffer.from('{"u":1,"i":1,"e":99999999999,"t":"zz"}').toString('base64url')}.sig`,
    ]) {
      const res = await me(a, { authorization });
      assert.equal(res.statusCode, 401, `${authorization.slice(0, 40)}: ${res.body}`);
      assert.equal(res.data.response.error_code, 'UNAUTHENTICATED');
    }
    // Where no user is required, a bad header leaves the caller anonymous: sign-in still works.
    const email = uniqueEmail();
    await createUser(a.database, email, 'password-1');
    const login = await new Client(() => a.app).login(email, 'password-1', {}, '');
    assert.equal(login.statusCode, 200);
    const withBad = await new Client(() => a.app).post(
      '/login',
      { email, password: 'password-1' },
      { authorization: 'Bearer' },
    );
    assert.equal(withBad.statusCode, 200, withBad.body);
  });

  test('signing out the session on instance A revokes its token on instance B at once', async () => {
    const { c, token } = await tokenSignIn(a);
    assert.equal((await me(b, bearer(token))).statusCode, 200);
    const out = await c.post('/logout');
    assert.equal(out.statusCode, 200);
    for (const t of [b, a]) {
      const res = await me(t, bearer(token));
      assert.equal(res.statusCode, 401, 'revoked everywhere');
      assert.equal((await me(t, header(token))).statusCode, 401);
    }
    const row = await a.database.db.selectFrom('auth_tokens').selectAll().execute();
    assert.ok(row.some((r) => r.revoked_at !== null));
  });

  test('signing out with the token itself (on B) revokes every token of that sign-in, also on A', async () => {
    const { token } = await tokenSignIn(a);
    // A second token of the same sign-in, from /verify.
    const verify = await new Client(() => a.app).post(
      '/verify?include_auth_token',
      { password: 'password-1' },
      header(token),
    );
    const second = verify.data.response.user.authentication_token as string;
    assert.ok(second && second !== token);
    assert.equal((await me(a, bearer(second))).statusCode, 200);
    const out = await new Client(() => b.app).post('/logout', {}, bearer(token));
    assert.equal(out.statusCode, 200);
    assert.equal((await me(a, bearer(token))).statusCode, 401);
    assert.equal((await me(a, bearer(second))).statusCode, 401, 'the sign-in ended, not just one token');
  });

  test('signing out one sign-in leaves the user’s other sign-ins alone', async () => {
    const { c, token, email } = await tokenSignIn(a);
    const other = await new Client(() => a.app).login(email, 'password-1', {}, '?include_auth_token');
    const otherToken = other.data.response.user.authentication_token as string;
    await c.post('/logout');
    assert.equal((await me(b, bearer(token))).statusCode, 401);
    assert.equal((await me(b, bearer(otherToken))).statusCode, 200);
  });

  test('a token expires after SECURITY_TOKEN_MAX_AGE (15 minutes by default)', async () => {
    assert.equal(a.config.SECURITY_TOKEN_MAX_AGE, 15 * 60);
    const { token } = await tokenSignIn(a);
    a.clock.advance(15 * 60 * 1000 - 1000);
    try {
      assert.equal((await me(a, bearer(token))).statusCode, 200);
      a.clock.advance(1000);
      assert.equal((await me(a, bearer(token))).statusCode, 401);
    } finally {
      a.clock.advance(-15 * 60 * 1000);
    }
  });

  test('a token without a row (stateless) is refused unless SECURITY_TOKEN_STATELESS', async () => {
    const stateless = await createTestApp({ SECURITY_TOKEN_STATELESS: 'true' }, a.database);
    try {
      const { c, token } = await tokenSignIn(stateless);
      const payload = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
      assert.equal(payload.t, undefined, 'no token id: nothing in the database to revoke');
      assert.equal((await c.post('/logout')).statusCode, 200);
      assert.equal(
        (await me(stateless, bearer(token))).statusCode,
        200,
        'the documented switch: sign-out does not revoke',
      );
      // The same token on an instance that revokes: refused, since it could never be revoked.
      assert.equal((await me(a, bearer(token))).statusCode, 401);
    } finally {
      await stateless.close();
    }
  });
});
