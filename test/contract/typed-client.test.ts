/**
 * A client written only against the generated types (openapi.yaml →
 * packages/client/src/generated/api.ts) completes a whole two-factor sign-in over a real
 * socket: if a path, a request field or an answer's shape the client relies on
 * left the document, this stops compiling; if the service answered otherwise,
 * the assertions (and the contract check on every answer) fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool, scanQrSvg, svgOfDataUri } from '../helpers/real-clients.js';
import { STEP_MS } from '../helpers/two-factor.js';
import { TypedClient, expectStatus } from '../helpers/typed-client.js';

describe(`a client typed from openapi.yaml (${DB_KIND})`, () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await createTestApp({ SECURITY_REGISTERABLE: 'true', SESSION_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  test('register, set up an authenticator, sign out, sign in with both factors, see /me', async () => {
    const email = uniqueEmail('typed');
    const password = 'a long enough password';
    const c = new TypedClient(base);

    const registered = expectStatus(await c.call('post', '/register', { body: { email, password } }), 200);
    assert.equal(registered.body.response.tf_required, false, 'a new user has no second factor yet');
    expectStatus(await c.call('post', '/logout', {}), 200);

    const first = expectStatus(await c.call('post', '/login', { body: { email, password } }), 200).body.response;
    assert.ok('user' in first && first.tf_required === false);
    assert.equal(first.user.email, email);

    const setup = expectStatus(await c.call('post', '/tf-setup', { body: { setup: 'authenticator' } }), 200).body
      .response;
    assert.ok('tf_authr_key' in setup, 'the authenticator branch of the answer');
    assert.equal(scanQrSvg(svgOfDataUri(setup.tf_authr_qrcode)), setup.tf_authr_uri);
    assert.equal(typeof setup.tf_state_token, 'string', 'a signed-in change gets a state token');
    const confirmed = expectStatus(
      await c.call('post', '/tf-validate', { body: { code: oathtool(setup.tf_authr_key, t.clock.now()) } }),
      200,
    );
    assert.equal(confirmed.body.response.user.email, email);
    expectStatus(await c.call('post', '/logout', {}), 200);
    t.clock.advance(STEP_MS);

    const pending = expectStatus(await c.call('post', '/login', { body: { email, password } }), 200).body.response;
    assert.ok('tf_state' in pending && pending.tf_state === 'ready');
    assert.equal(pending.tf_method, 'authenticator');
    const entry = expectStatus(await c.call('get', '/tf-validate', {}), 200).body.response;
    assert.equal(entry.recovery_options?.help, '/tf-rescue');
    const wrong = expectStatus(await c.call('post', '/tf-validate', { body: { code: '000000' } }), 400).body.response;
    assert.equal(wrong.error_code, 'TWO_FACTOR_INVALID_TOKEN');
    const code = oathtool(setup.tf_authr_key, t.clock.now());
    const done = expectStatus(
      await c.call('post', '/tf-validate', { body: { code }, query: { include_auth_token: '' } }),
      200,
    ).body.response;
    const token = done.user.authentication_token;
    assert.ok(token);

    const me = expectStatus(await c.call('get', '/me', {}), 200).body.response;
    assert.equal(me.user.email, email);
    assert.equal(me.tf_primary_method, 'authenticator');
    assert.deepEqual(me.authn_methods, ['password', 'authenticator']);
    // Another backend service, with the token and no cookie.
    const service = expectStatus(
      await new TypedClient(base).call('get', '/me', { headers: { 'authentication-token': token } }),
      200,
    ).body.response;
    assert.equal(service.user.email, email);
  });
});
