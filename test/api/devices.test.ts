import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, signedIn, STEP_MS } from '../helpers/two-factor.js';

/** Remembered devices (SPEC §4.5): tf_validity skips the second factor for its own user only, until it dies. */
describe(`remembered devices (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
      SECURITY_TWO_FACTOR_LOGIN_VALIDITY: '7 days',
    });
  });
  after(() => t.close());

  async function enrolled(): Promise<{ email: string; key: string }> {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const key = await enrolAuthenticator(t, await signedIn(t, email, 'password-1'));
    return { email, key };
  }

  /** Signs in with remember: true and the second factor; the client keeps tf_validity. */
  async function rememberedClient(email: string, key: string): Promise<Client> {
    const c = new Client(() => t.app);
    await c.login(email, 'password-1', { remember: true });
    const ok = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(ok.statusCode, 200, ok.body);
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /tf_validity=/);
    assert.match(cookie, /tf_validity=[^;]+;.*HttpOnly/i);
    assert.match(cookie, /tf_validity=[^;]+;.*SameSite=Strict/i);
    assert.match(cookie, /tf_validity=[^;]+;.*Max-Age=604800/i);
    t.clock.advance(STEP_MS);
    await c.post('/logout');
    return c;
  }

  test('a remembered device skips the second factor, and lists as current', async () => {
    const { email, key } = await enrolled();
    const c = await rememberedClient(email, key);
    const again = await c.login(email, 'password-1');
    assert.equal(again.data.response.tf_required, false);
    assert.deepEqual((await c.get('/me')).data.response.authn_methods, ['password', 'remembered_device']);
    const list = await c.get('/tf-devices');
    assert.equal(list.data.response.devices.length, 1);
    assert.equal(list.data.response.devices[0].current, true);
    assert.ok(list.data.response.devices[0].last_used_at);
  });

  test('the cookie does not help another user', async () => {
    const a = await enrolled();
    const b = await enrolled();
    const c = await rememberedClient(a.email, a.key);
    const other = await c.login(b.email, 'password-1');
    assert.equal(other.data.response.tf_required, true);
  });

  test('without remember: true nothing is remembered', async () => {
    const { email, key } = await enrolled();
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    const ok = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.doesNotMatch(String(ok.headers['set-cookie']), /tf_validity=/);
  });

  test('it dies on password change', async () => {
    const { email, key } = await enrolled();
    const c = await rememberedClient(email, key);
    await c.login(email, 'password-1');
    assert.equal((await c.post('/change', { password: 'password-1', new_password: 'password-2' })).statusCode, 200);
    await c.post('/logout');
    assert.equal((await c.login(email, 'password-2')).data.response.tf_required, true);
  });

  test('it dies when 2FA is disabled (and re-enabled)', async () => {
    const { email, key } = await enrolled();
    const c = await rememberedClient(email, key);
    await c.login(email, 'password-1');
    assert.equal((await c.post('/tf-setup', { setup: 'disable' })).statusCode, 200);
    await enrolAuthenticator(t, c);
    await c.post('/logout');
    assert.equal((await c.login(email, 'password-1')).data.response.tf_required, true);
  });

  test('it dies when revoked, one or all; revoking needs a signed-in caller', async () => {
    const { email, key } = await enrolled();
    const c = await rememberedClient(email, key);
    await c.login(email, 'password-1');
    const [device] = (await c.get('/tf-devices')).data.response.devices;
    assert.equal((await new Client(() => t.app).delete(`/tf-devices/${device.id}`)).statusCode, 401);
    assert.equal((await c.delete('/tf-devices/not-a-device')).statusCode, 404);
    const del = await c.delete(`/tf-devices/${device.id}`);
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual(del.data.response.devices, []);
    await c.post('/logout');
    assert.equal((await c.login(email, 'password-1')).data.response.tf_required, true);

    const d = await rememberedClient(email, key);
    await d.login(email, 'password-1');
    assert.equal((await d.delete('/tf-devices')).statusCode, 200);
    await d.post('/logout');
    assert.equal((await d.login(email, 'password-1')).data.response.tf_required, true);
  });

  test('another user cannot revoke my device', async () => {
    const a = await enrolled();
    const b = await enrolled();
    const ca = await rememberedClient(a.email, a.key);
    await ca.login(a.email, 'password-1');
    const [device] = (await ca.get('/tf-devices')).data.response.devices;
    const cb = await signedIn(t, b.email, 'password-1');
    await cb.post('/tf-validate', { code: oathtool(b.key, t.clock.now()) });
    assert.equal((await cb.delete(`/tf-devices/${device.id}`)).statusCode, 404);
    assert.equal((await ca.get('/tf-devices')).data.response.devices.length, 1);
  });

  test('it expires with SECURITY_TWO_FACTOR_LOGIN_VALIDITY', async () => {
    const { email, key } = await enrolled();
    const c = await rememberedClient(email, key);
    t.clock.advance(7 * 86400 * 1000 + 1000);
    assert.equal((await c.login(email, 'password-1')).data.response.tf_required, true);
  });
});
