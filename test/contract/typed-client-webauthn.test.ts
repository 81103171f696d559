/**
 * A client written only against the generated types (openapi.yaml →
 * packages/client/src/generated/api.ts) uses every security-key endpoint over a real socket, with
 * Flask-Security's call sequence and field names (README "Security keys"): if a path, a
 * field or an answer's shape it relies on left the document, this stops compiling.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { TypedClient, expectStatus } from '../helpers/typed-client.js';
import { softKey, WAN_ENV } from '../helpers/webauthn.js';

describe(`security keys through a client typed from openapi.yaml (${DB_KIND})`, () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await createTestApp({ ...WAN_ENV, SECURITY_REGISTERABLE: 'true', SESSION_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  test('register a key, list it, sign in with it, reauthenticate with it, delete it', async () => {
    const email = uniqueEmail('typedwan');
    const password = 'a long enough password';
    const c = new TypedClient(base);
    const key = softKey();
    expectStatus(await c.call('post', '/register', { body: { email, password } }), 200);

    const start = expectStatus(
      await c.call('post', '/wan-register', { body: { name: 'usb key', usage: 'secondary' } }),
      200,
    ).body.response;
    const creation = start.credential_options as Parameters<typeof key.register>[0];
    const credential = JSON.stringify(key.register(creation));
    const params = { wan_state: start.wan_state };
    expectStatus(await c.call('post', '/wan-register/{wan_state}', { params, body: { credential } }), 200);
    const list = expectStatus(await c.call('get', '/wan-register', {}), 200).body.response;
    assert.deepEqual(
      list.registered_credentials.map((k) => [k.name, k.usage, k.credential_id]),
      [['usb key', 'secondary', key.id]],
    );
    expectStatus(await c.call('post', '/logout', {}), 200);

    const pending = expectStatus(await c.call('post', '/login', { body: { email, password } }), 200).body.response;
    assert.ok('tf_method' in pending && pending.tf_method === 'webauthn');
    assert.equal(pending.tf_signin_url, '/wan-signin');
    const signin = expectStatus(await c.call('post', '/wan-signin', { body: {} }), 200).body.response;
    assert.equal(signin.is_secondary, true);
    const assertion = JSON.stringify(key.assert(signin.credential_options as { challenge: string }));
    const done = expectStatus(
      await c.call('post', '/wan-signin/{wan_state}', {
        params: { wan_state: signin.wan_state },
        body: { credential: assertion },
        query: { include_auth_token: '' },
      }),
      200,
    ).body.response;
    assert.equal(done.tf_required, false);
    assert.equal(typeof done.user.authentication_token, 'string');
    const me = expectStatus(await c.call('get', '/me', {}), 200).body.response;
    assert.deepEqual(me.authn_methods, ['password', 'webauthn']);

    const verify = expectStatus(await c.call('post', '/wan-verify', {}), 200).body.response;
    const again = JSON.stringify(key.assert(verify.credential_options as { challenge: string }));
    expectStatus(
      await c.call('post', '/wan-verify/{wan_state}', {
        params: { wan_state: verify.wan_state },
        body: { credential: again },
      }),
      200,
    );
    expectStatus(await c.call('post', '/wan-delete', { body: { name: 'usb key' } }), 200);
    const gone = expectStatus(await c.call('post', '/wan-delete', { body: { name: 'usb key' } }), 400).body.response;
    assert.equal(gone.error_code, 'WEBAUTHN_NAME_NOT_FOUND');
  });
});
