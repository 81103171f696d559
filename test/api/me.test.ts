import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { grantRole } from '../../src/users/users.repository.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn, STEP_MS } from '../helpers/two-factor.js';

/** GET /me for backend services (docs/backend-services.md): who, which roles, how strongly, since when. */
describe(`GET /me: id, roles, second factor, assurance, max_age (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a password sign-in: id, roles, aal1, no second-factor time; the old fields stay', async () => {
    const email = uniqueEmail('me');
    const user = await createUser(t.database, email, 'password-1');
    await grantRole(t.database.db, user.id, 'support');
    await grantRole(t.database.db, user.id, 'admin');
    const c = await signedIn(t, email, 'password-1');
    const r = (await c.get('/me')).data.response;
    assert.deepEqual(r.user, { email });
    assert.equal(r.id, user.id);
    assert.deepEqual(r.roles, ['admin', 'support']);
    assert.equal(r.tf_primary_method, null);
    assert.equal(r.tf_required, false);
    assert.equal(r.tf_authenticated_at, null);
    assert.equal(r.authenticated_at, t.clock.now().toISOString());
    assert.deepEqual(r.authn_methods, ['password']);
    assert.equal(r.aal, 'aal1');
  });

  test('a sign-in with the second factor is aal2, with the time it was passed, by cookie and by token', async () => {
    const email = uniqueEmail('me2');
    await createUser(t.database, email, 'password-1');
    const first = await signedIn(t, email, 'password-1');
    const key = await enrolAuthenticator(t, first);
    await first.post('/logout');
    const c = new Client(() => t.app);
    assert.equal((await c.login(email, 'password-1')).data.response.tf_state, 'ready');
    t.clock.advance(STEP_MS);
    const passedAt = t.clock.now().toISOString();
    const ok = await c.post('/tf-validate?include_auth_token', { code: oathtool(key, t.clock.now()) });
    assert.equal(ok.statusCode, 200, ok.body);
    const token = ok.data.response.user.authentication_token as string;
    t.clock.advance(60_000);
    for (const res of [
      await c.get('/me'),
      await new Client(() => t.app).get('/me', { authorization: `Bearer ${token}` }),
    ]) {
      const r = res.data.response;
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(r.aal, 'aal2');
      // Tokens carry whole seconds.
      assert.equal(Math.floor(Date.parse(r.tf_authenticated_at) / 1000), Math.floor(Date.parse(passedAt) / 1000));
      assert.deepEqual(r.authn_methods, ['password', 'authenticator']);
      assert.equal(r.tf_primary_method, 'authenticator');
    }
  });

  test('max_age: a recent enough sign-in passes; an older one is 401 AUTHENTICATION_TOO_OLD until /verify', async () => {
    const email = uniqueEmail('age');
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    const signedInAt = t.clock.now().toISOString();
    t.clock.advance(300_000);
    assert.equal((await c.get('/me?max_age=300')).statusCode, 200, 'exactly max_age old is still fine');
    assert.equal((await c.get('/me?max_age=0')).statusCode, 401);
    const old = await c.get('/me?max_age=299');
    assert.equal(old.statusCode, 401);
    assert.equal(old.data.response.error_code, 'AUTHENTICATION_TOO_OLD');
    assert.equal(old.data.response.reauth_required, true);
    assert.equal(old.data.response.authenticated_at, signedInAt);
    assert.equal((await c.post('/verify', { password: 'password-1' })).statusCode, 200);
    assert.equal((await c.get('/me?max_age=0')).statusCode, 200, '/verify is the cure');
  });

  test('a max_age that is not whole seconds is 400 API_ERROR on max_age', async () => {
    const email = uniqueEmail('age2');
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    for (const q of ['-1', '1.5', 'abc', '', '12345678901', '1&max_age=2']) {
      const res = await c.get(`/me?max_age=${q}`);
      assert.equal(res.statusCode, 400, `${q}: ${res.body}`);
      assert.deepEqual(res.data.response.field_errors, { max_age: ['Input not appropriate for requested API'] });
    }
    assert.equal((await new Client(() => t.app).get('/me?max_age=abc')).statusCode, 401, 'anonymous first');
  });
});
