import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';

describe(`password sign-in, sessions and tokens (${DB_KIND})`, () => {
  let t: TestApp;
  const client = () => new Client(() => t.app);
  before(async () => {
    t = await createTestApp({ SECURITY_REGISTERABLE: 'true' });
  });
  after(() => t.close());

  test('register → /me → logout → /me is 401', async () => {
    const c = client();
    const email = uniqueEmail();
    const reg = await c.post('/register', { email, password: 'correct horse' });
    assert.equal(reg.statusCode, 200);
    assert.deepEqual(reg.data.meta, { code: 200 });
    assert.equal(reg.data.response.user.email, email);
    assert.equal(reg.data.response.tf_required, false);
    assert.equal(typeof reg.data.response.csrf_token, 'string');
    assert.equal(reg.headers['cache-control'], 'no-store');

    const me = await c.get('/me');
    assert.equal(me.statusCode, 200);
    assert.equal(me.data.response.user.email, email);
    assert.deepEqual(me.data.response.authn_methods, ['password']);
    assert.equal(me.data.response.tf_primary_method, null);
    assert.ok(!('fs_uniquifier' in me.data.response.user) && !('password' in me.data.response.user));

    const out = await c.post('/logout');
    assert.equal(out.statusCode, 200);
    assert.deepEqual(out.data, { meta: { code: 200 }, response: {} });
    const me2 = await c.get('/me');
    assert.equal(me2.statusCode, 401);
    assert.equal(me2.data.response.error_code, 'UNAUTHENTICATED');
  });

  test('the session cookie changes at sign-in and the old one is dead after logout', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = client();
    await c.get('/login');
    // Make an anonymous session exist first: a failed login does not create one, so seed a cookie value.
    c.cookies.set('session', 'attacker-chosen-value');
    const login = await c.login(email, 'password-1');
    assert.equal(login.statusCode, 200);
    const signedIn = c.cookies.get('session');
    assert.ok(signedIn && signedIn !== 'attacker-chosen-value');

    const thief = client();
    thief.cookies.set('session', signedIn);
    assert.equal((await thief.get('/me')).statusCode, 200);

    await c.post('/logout');
    assert.equal(c.cookies.has('session'), false);
    assert.equal((await thief.get('/me')).statusCode, 401, 'a copied cookie dies with the logout');
  });

  test('a second sign-in gets a different session id', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const a = client();
    await a.login(email, 'password-1');
    const b = client();
    await b.login(email, 'password-1');
    assert.notEqual(a.cookies.get('session'), b.cookies.get('session'));
  });

  test('/change in one session kills the others and keeps the caller signed in on a new id', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const a = client();
    const b = client();
    await a.login(email, 'password-1');
    await b.login(email, 'password-1', {}, '?include_auth_token');
    const token = (await b.post('/verify?include_auth_token', { password: 'password-1' })).data.response.user
      .authentication_token;
    const before = a.cookies.get('session');
    const ch = await a.post('/change', { password: 'password-1', new_password: 'password-2' });
    assert.equal(ch.statusCode, 200, ch.body);
    assert.notEqual(a.cookies.get('session'), before);
    assert.equal((await a.get('/me')).statusCode, 200);
    assert.equal((await b.get('/me')).statusCode, 401, 'other session is void');
    assert.equal((await client().get('/me', { 'authentication-token': token })).statusCode, 401, 'old token is void');
    assert.equal((await client().login(email, 'password-1')).statusCode, 400);
    assert.equal((await client().login(email, 'password-2')).statusCode, 200);
  });

  test('/change with a wrong current password or a short new one changes nothing', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const a = client();
    await a.login(email, 'password-1');
    const wrong = await a.post('/change', { password: 'nope-nope', new_password: 'password-2' });
    assert.equal(wrong.statusCode, 400);
    assert.deepEqual(wrong.data.response.field_errors, { password: ['Invalid password'] });
    const short = await a.post('/change', { password: 'password-1', new_password: 'short' });
    assert.equal(short.statusCode, 400);
    assert.equal(short.data.response.error_code, 'PASSWORD_INVALID_LENGTH');
    assert.deepEqual(short.data.response.field_errors.new_password, ['Password must be at least 8 characters']);
    assert.equal((await client().login(email, 'password-1')).statusCode, 200);
  });

  test('a tampered cookie is anonymous', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = client();
    await c.login(email, 'password-1');
    const value = c.cookies.get('session')!;
    const flipped = value.slice(0, 5) + (value[5] === 'A' ? 'B' : 'A') + value.slice(6);
    c.cookies.set('session', flipped);
    const me = await c.get('/me');
    assert.equal(me.statusCode, 401);
  });

  test('unknown e-mail and wrong password get the same answer', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const unknown = await client().login(uniqueEmail(), 'password-1');
    const wrong = await client().login(email, 'password-x');
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(unknown.data.response, wrong.data.response);
    assert.equal(unknown.data.response.error_code, 'GENERIC_AUTHN_FAILED');
    assert.equal(unknown.headers['set-cookie'], undefined, 'a failed sign-in creates no session');
  });

  test('a deactivated user is refused, and only after the right password', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    const c = client();
    await c.login(email, 'password-1');
    await t.database.db.updateTable('users').set({ active: false }).where('id', '=', user.id).execute();
    assert.equal((await c.get('/me')).statusCode, 401, 'deactivation voids the live session');
    assert.equal((await client().login(email, 'password-1')).data.response.error_code, 'DISABLED_ACCOUNT');
    assert.equal((await client().login(email, 'password-x')).data.response.error_code, 'GENERIC_AUTHN_FAILED');
  });

  test('a signed-in caller cannot /login again', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = client();
    await c.login(email, 'password-1');
    const again = await c.login(email, 'password-1');
    assert.equal(again.statusCode, 400);
    assert.equal(again.data.response.error_code, 'ANONYMOUS_USER_REQUIRED');
  });

  test('GET /login shows the user only when signed in', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = client();
    const anon = await c.get('/login');
    assert.deepEqual(anon.data.response.identity_attributes, ['email']);
    assert.equal(anon.data.response.user, undefined);
    await c.login(email, 'password-1');
    assert.equal((await c.get('/login')).data.response.user.email, email);
  });

  test('registering an e-mail twice (in another case) is refused', async () => {
    const email = uniqueEmail();
    assert.equal((await client().post('/register', { email, password: 'password-1' })).statusCode, 200);
    const dup = await client().post('/register', { email: email.toUpperCase(), password: 'password-1' });
    assert.equal(dup.statusCode, 400);
    assert.equal(dup.data.response.error_code, 'EMAIL_ALREADY_ASSOCIATED');
    assert.deepEqual(Object.keys(dup.data.response.field_errors), ['email']);
  });

  test('e-mail is compared case-insensitively at sign-in', async () => {
    const email = uniqueEmail('Mixed');
    await createUser(t.database, email, 'password-1');
    assert.equal((await client().login(email.toUpperCase(), 'password-1')).statusCode, 200);
  });

  test('auth tokens: issued with ?include_auth_token, accepted in the header, no CSRF needed', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const login = await client().login(email, 'password-1', {}, '?include_auth_token');
    const token = login.data.response.user.authentication_token as string;
    assert.ok(token);
    const backend = client();
    const me = await backend.get('/me', { 'authentication-token': token });
    assert.equal(me.statusCode, 200);
    assert.equal(me.data.response.user.email, email);
    const verify = await backend.post('/verify', { password: 'password-1' }, { 'authentication-token': token });
    assert.equal(verify.statusCode, 200, 'token callers need no CSRF token');
    assert.equal((await backend.get('/me', { 'authentication-token': token.slice(0, -2) + 'xx' })).statusCode, 401);
    assert.equal((await backend.get('/me', { 'authentication-token': 'garbage' })).statusCode, 401);
  });

  test('auth tokens expire after SECURITY_TOKEN_MAX_AGE', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const token = (await client().login(email, 'password-1', {}, '?include_auth_token')).data.response.user
      .authentication_token;
    t.clock.advance(24 * 3600 * 1000 + 1000);
    try {
      assert.equal((await client().get('/me', { 'authentication-token': token })).statusCode, 401);
    } finally {
      t.clock.advance(-(24 * 3600 * 1000 + 1000));
    }
  });

  test('/verify refreshes freshness; a wrong password is INVALID_PASSWORD on the field', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = client();
    await c.login(email, 'password-1');
    const bad = await c.post('/verify', { password: 'wrong-password' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.data.response.field_errors, { password: ['Invalid password'] });
    t.clock.advance(3600 * 1000);
    const ok = await c.post('/verify', { password: 'password-1' });
    assert.equal(ok.statusCode, 200);
    const me = await c.get('/me');
    assert.equal(me.data.response.authenticated_at, t.clock.now().toISOString());
  });

  test('remember: true makes a persistent cookie; without it the cookie is a browser-session cookie', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const plain = await client().login(email, 'password-1');
    const plainCookie = String(plain.headers['set-cookie']);
    assert.doesNotMatch(plainCookie, /Expires=|Max-Age=/i);
    const remembered = await client().login(email, 'password-1', { remember: true });
    const cookie = String(remembered.headers['set-cookie']);
    assert.match(cookie, /Expires=/i);
    const expires = new Date(/Expires=([^;]+)/i.exec(cookie)![1]!);
    // From the service's clock (time is injected), not this machine's.
    const days = (expires.getTime() - t.clock.now().getTime()) / 86400000;
    assert.ok(days > 29 && days <= 30.01, `expires in ${days} days`);
    // A later change to the session must keep it persistent (the store keeps the cookie's settings).
    const c = new Client(() => t.app);
    await c.login(email, 'password-1', { remember: true });
    t.clock.advance(1000);
    const verify = await c.post('/verify', { password: 'password-1' });
    assert.match(String(verify.headers['set-cookie']), /Expires=/i);
    t.clock.advance(26 * 3600 * 1000);
    try {
      assert.equal((await c.get('/me')).statusCode, 200, 'a remembered session outlives SECURITY_SESSION_LIFETIME');
    } finally {
      t.clock.advance(-26 * 3600 * 1000 - 1000);
    }
  });

  test('/register is 404 when registration is off', async () => {
    await t.rebuild({});
    try {
      const res = await client().post('/register', { email: uniqueEmail(), password: 'password-1' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.data.response.error_code, 'NOT_FOUND');
    } finally {
      await t.rebuild({ SECURITY_REGISTERABLE: 'true' });
    }
  });
});
