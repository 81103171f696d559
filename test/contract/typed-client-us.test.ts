/**
 * A client written only against the generated types (openapi.yaml →
 * packages/client/src/generated/api.ts) sets up an e-mail sign-in code and signs in with it
 * over a real socket, then with a second factor as /login would answer: if a
 * unified sign-in path, field or answer shape left the document, this stops
 * compiling; if the service answered otherwise, the assertions (and the contract
 * check on every answer) fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { STEP_MS } from '../helpers/two-factor.js';
import { TypedClient, expectStatus } from '../helpers/typed-client.js';
import { US_ENV } from '../helpers/unified-signin.js';

describe(`unified sign-in with a client typed from openapi.yaml (${DB_KIND})`, () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await createTestApp({ ...US_ENV, SECURITY_REGISTERABLE: 'true', SESSION_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  test('register, add e-mail and authenticator sign-in, sign in with a code, then with the second factor', async () => {
    const email = uniqueEmail('typed-us');
    const password = 'a long enough password';
    const c = new TypedClient(base);
    expectStatus(await c.call('post', '/register', { body: { email, password } }), 200);

    const info = expectStatus(await c.call('get', '/us-setup', {}), 200).body.response;
    assert.deepEqual(info.active_methods, ['password']);
    const setup = expectStatus(await c.call('post', '/us-setup', { body: { chosen_method: 'email' } }), 200).body
      .response;
    assert.equal(setup.chosen_method, 'email');
    const token = setup.state!;
    const stored = expectStatus(
      await c.call('post', '/us-setup/{token}', { params: { token }, body: { passcode: t.senders.lastCode(email) } }),
      200,
    ).body.response;
    assert.equal(stored.chosen_method, 'email');
    const tf = expectStatus(await c.call('post', '/tf-setup', { body: { setup: 'authenticator' } }), 200).body.response;
    assert.ok('tf_authr_key' in tf);
    expectStatus(
      await c.call('post', '/tf-validate', { body: { code: oathtool(tf.tf_authr_key, t.clock.now()) } }),
      200,
    );
    expectStatus(await c.call('post', '/logout', {}), 200);
    t.clock.advance(STEP_MS + 1000);

    const methods = expectStatus(await c.call('get', '/us-signin', {}), 200).body.response;
    assert.deepEqual(methods.code_methods, ['email', 'sms']);
    expectStatus(
      await c.call('post', '/us-signin/send-code', { body: { identity: email, chosen_method: 'email' } }),
      200,
    );
    const first = expectStatus(
      await c.call('post', '/us-signin', { body: { identity: email, passcode: t.senders.lastCode(email) } }),
      200,
    ).body.response;
    assert.ok('tf_state' in first && first.tf_state === 'ready', 'e-mail is in SECURITY_US_MFA_REQUIRED');
    const done = expectStatus(
      await c.call('post', '/tf-validate', {
        body: { code: oathtool(tf.tf_authr_key, t.clock.now()) },
        query: { include_auth_token: '' },
      }),
      200,
    ).body.response;
    assert.ok(done.user.authentication_token);
    const me = expectStatus(await c.call('get', '/me', {}), 200).body.response;
    assert.deepEqual(me.authn_methods, ['email', 'authenticator']);
  });
});
