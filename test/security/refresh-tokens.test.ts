/**
 * Threat: a stolen refresh token. Refresh tokens live for months, so each is
 * spent when used (rotation) and a spent one presented again means two
 * parties hold the family: the whole sign-in is revoked (its refresh family
 * and every auth token it issued). A burst of the same refresh token must not
 * fork the family into several live chains: the database lets exactly one
 * request rotate it. Also: expiry and idle expiry, sign-out revocation, and
 * Flask-Security 5.9's cookie mode (HttpOnly, SameSite=Strict).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';

const DAY = 86_400_000;

describe(`refresh tokens, JSON mode (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ SECURITY_REFRESH_TOKEN: 'true', SECURITY_REFRESH_TOKEN_COOKIE_NAME: '' });
  });
  after(() => t.close());

  const client = () => new Client(() => t.app);
  const me = (token: string) => client().get('/me', { authorization: `Bearer ${token}` });
  const refresh = (token: unknown) => client().post('/refresh-token', { refresh_token: token });

  async function signIn(): Promise<{ c: Client; token: string; refresh: string; email: string }> {
    const email = uniqueEmail('rt');
    await createUser(t.database, email, 'password-1');
    const c = client();
    const login = await c.login(email, 'password-1', {}, '?include_auth_token');
    assert.equal(login.statusCode, 200, login.body);
    const user = login.data.response.user;
    assert.ok(user.refresh_token, 'the refresh token is in the answer');
    return { c, token: user.authentication_token, refresh: user.refresh_token, email };
  }

  function reason(res: { statusCode: number; data: any }): string {
    assert.equal(res.statusCode, 400, JSON.stringify(res.data));
    assert.equal(res.data.response.error_code, 'REFRESH_TOKEN_INVALID');
    assert.ok(res.data.response.field_errors.refresh_token);
    return /\((\w+)\)/.exec(res.data.response.errors[0])![1]!;
  }

  test('refresh rotates: a new auth token and a new refresh token of the same family', async () => {
    const { token, refresh: r1, email } = await signIn();
    t.clock.advance(16 * 60 * 1000);
    assert.equal((await me(token)).statusCode, 401, 'the 15-minute token expired');
    const res = await refresh(r1);
    assert.equal(res.statusCode, 200, res.body);
    const { authentication_token: fresh, refresh_token: r2 } = res.data.response.user;
    assert.equal(res.data.response.user.email, email);
    assert.ok(r2 && r2 !== r1);
    assert.equal((await me(fresh)).statusCode, 200);
    const rows = await t.database.db.selectFrom('refresh_tokens').selectAll().execute();
    const family = JSON.parse(Buffer.from(r2.split('.')[0], 'base64url').toString()).f;
    assert.equal(rows.find((r) => r.family === family)?.gen, 2);
    // The sign-in time travels with the family: refreshing does not make a sign-in fresh.
    const info = (await me(fresh)).data.response;
    assert.ok(Date.parse(info.authenticated_at) <= t.clock.now().getTime() - 15 * 60 * 1000);
  });

  test('a reused refresh token is refused and ends the sign-in: family and its auth tokens revoked', async () => {
    const { token, refresh: r1, email } = await signIn();
    const ok = await refresh(r1);
    const { authentication_token: a2, refresh_token: r2 } = ok.data.response.user;
    assert.equal(reason(await refresh(r1)), 'GEN_MISMATCH');
    assert.equal(reason(await refresh(r2)), 'REVOKED', 'the thief or the owner: the family is dead for both');
    assert.equal((await me(a2)).statusCode, 401);
    assert.equal((await me(token)).statusCode, 401);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .innerJoin('users', 'users.id', 'audit_events.user_id')
      .select('type')
      .where('users.email', '=', email)
      .where('type', '=', 'token.refresh_reused')
      .execute();
    assert.equal(audit.length, 1);
  });

  test('a parallel burst of one refresh token yields exactly one new token', async () => {
    const { refresh: r1 } = await signIn();
    const answers = await Promise.all(Array.from({ length: 12 }, () => refresh(r1)));
    const winners = answers.filter((r) => r.statusCode === 200);
    assert.equal(winners.length, 1, answers.map((r) => r.statusCode).join(','));
    for (const r of answers.filter((x) => x.statusCode !== 200)) assert.equal(reason(r), 'GEN_MISMATCH');
    // The burst is reuse: the winner's chain is revoked too.
    assert.equal(reason(await refresh(winners[0]!.data.response.user.refresh_token)), 'REVOKED');
  });

  test('forged, malformed, missing and foreign refresh tokens are 400, never 500', async () => {
    const { refresh: r1 } = await signIn();
    assert.equal(reason(await refresh('12345')), 'INVALID');
    assert.equal(reason(await refresh(r1.slice(0, -2) + (r1.endsWith('A') ? 'BB' : 'AA'))), 'INVALID');
    const claims = JSON.parse(Buffer.from(r1.split('.')[0]!, 'base64url').toString());
    const other = Buffer.from(JSON.stringify({ ...claims, f: '0'.repeat(32) })).toString('base64url');
    assert.equal(reason(await refresh(`${other}.${r1.split('.')[1]}`)), 'NOT_FOUND');
    const bumped = Buffer.from(JSON.stringify({ ...claims, g: 2 ** 40 })).toString('base64url');
    assert.equal(reason(await refresh(`${bumped}.${r1.split('.')[1]}`)), 'INVALID');
    const missing = await client().post('/refresh-token', {});
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.data.response.error_code, 'REQUIRED');
    const wrongType = await client().post('/refresh-token', { refresh_token: 42 });
    assert.equal(wrongType.data.response.error_code, 'API_ERROR');
    assert.equal((await refresh(r1)).statusCode, 200, 'none of that touched the real family');
  });

  test('a password change kills the refresh token (signed with fs_uniquifier)', async () => {
    const { c, refresh: r1 } = await signIn();
    const change = await c.post('/change', { password: 'password-1', new_password: 'password-2' });
    assert.equal(change.statusCode, 200, change.body);
    assert.equal(reason(await refresh(r1)), 'INVALID');
  });

  test('expiry: SECURITY_REFRESH_TOKEN_MAX_IDLE without use, SECURITY_REFRESH_TOKEN_MAX_AGE in all', async () => {
    const idle = await signIn();
    t.clock.advance(7 * DAY + 1000);
    try {
      assert.equal(reason(await refresh(idle.refresh)), 'EXPIRED');
    } finally {
      t.clock.advance(-(7 * DAY + 1000));
    }
    let { refresh: current } = await signIn();
    // Used every 6 days it stays alive, until 90 days after it was issued.
    for (let day = 6; day < 90; day += 6) {
      t.clock.advance(6 * DAY);
      const res = await refresh(current);
      assert.equal(res.statusCode, 200, `day ${day}: ${res.body}`);
      current = res.data.response.user.refresh_token;
    }
    t.clock.advance(6 * DAY);
    try {
      assert.equal(reason(await refresh(current)), 'EXPIRED');
    } finally {
      t.clock.advance(-90 * DAY);
    }
  });

  test('signing out revokes the refresh token of the sign-in, and one given in the body', async () => {
    const { c, refresh: r1 } = await signIn();
    await c.post('/logout');
    assert.equal(reason(await refresh(r1)), 'REVOKED');
    const other = await signIn();
    // A token-only client signs out with its refresh token alone (Flask-Security 5.9).
    assert.equal((await client().post('/logout', { refresh_token: other.refresh })).statusCode, 200);
    assert.equal(reason(await refresh(other.refresh)), 'REVOKED');
    assert.equal((await me(other.token)).statusCode, 401, 'its auth tokens went with it');
  });
});

describe(`refresh tokens, cookie mode (Flask-Security 5.9's default) (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ SECURITY_REFRESH_TOKEN: 'true' });
  });
  after(() => t.close());

  test('the refresh token travels in an HttpOnly SameSite=Strict cookie, rotates there, and dies at sign-out', async () => {
    const email = uniqueEmail('rc');
    await createUser(t.database, email, 'password-1');
    const c = new Client(() => t.app);
    const login = await c.login(email, 'password-1', {}, '?include_auth_token');
    assert.equal(login.data.response.user.refresh_token, undefined, 'not in the answer');
    const set = String(login.headers['set-cookie']);
    assert.match(set, /fs_refresh=[^;]+;.*HttpOnly/i);
    assert.match(set, /fs_refresh=[^;]+;.*SameSite=Strict/i);
    assert.match(set, /fs_refresh=[^;]+;.*Secure/i);
    const first = c.cookies.get('fs_refresh')!;
    // The cookie is what counts; a body token is ignored in cookie mode.
    const res = await c.post('/refresh-token', { refresh_token: 'ignored' });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.data.response.user.authentication_token);
    assert.notEqual(c.cookies.get('fs_refresh'), first);
    const stolen = new Client(() => t.app);
    stolen.cookies.set('fs_refresh', first);
    assert.equal((await stolen.post('/refresh-token', {})).statusCode, 400);
    const noCookie = await new Client(() => t.app).post('/refresh-token', {});
    assert.equal(noCookie.data.response.error_code, 'REQUIRED');
  });

  test('sign-out clears the cookie and revokes the family', async () => {
    const email = uniqueEmail('rc2');
    await createUser(t.database, email, 'password-1');
    const c = new Client(() => t.app);
    await c.login(email, 'password-1', {}, '?include_auth_token');
    const cookie = c.cookies.get('fs_refresh')!;
    await c.post('/logout');
    assert.equal(c.cookies.has('fs_refresh'), false);
    const again = new Client(() => t.app);
    again.cookies.set('fs_refresh', cookie);
    const res = await again.post('/refresh-token', {});
    assert.match(res.data.response.errors[0], /REVOKED/);
  });

  test('POST /refresh-token is 404 when SECURITY_REFRESH_TOKEN is off (the default)', async () => {
    const off = await createTestApp({}, t.database);
    try {
      assert.equal((await new Client(() => off.app).post('/refresh-token', {})).statusCode, 404);
    } finally {
      await off.close();
    }
  });
});
