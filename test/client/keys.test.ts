/**
 * The client package's security-key flows (packages/client/src/flows/keys.ts), built as
 * published, in Node against the real service on 127.0.0.1, in cookie and token mode.
 * The authenticator is the tests' software key (real attestation and assertion objects,
 * verified by the service's @simplewebauthn/server), passed as the flows' KeyCeremony in
 * place of the browser's navigator.credentials; test/e2e/starter-spa.test.ts drives the
 * browser's own, `browserKeys()`, in Chromium.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as Client from '../../packages/client/src/index.js';
import { createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { oathtool } from '../helpers/real-clients.js';
import type { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { softKey, WAN_ENV } from '../helpers/webauthn.js';
import { rejectsWith, servedPackage } from './served.js';

const PASSWORD = 'correct horse battery staple';

let pkg: typeof Client;
let t: TestApp;
let origin: string;
const served = servedPackage(WAN_ENV, (s) => ({ pkg, t, origin } = s));

/** The software key as the flows' ceremony: what a browser's create() and get() would return. */
function ceremonyOf(key: SoftAuthenticator): Client.KeyCeremony {
  return {
    create: async (options) => key.register(options as Parameters<SoftAuthenticator['register']>[0]),
    get: async (options) => key.assert(options as Parameters<SoftAuthenticator['assert']>[0]),
  };
}

const rejects = (promise: Promise<unknown>, code: string) => rejectsWith(served, promise, code);

describe('security keys through the client package', () => {
  const email = uniqueEmail('pkg-key');
  const key = softKey();
  let client: Client.TfaClient;

  before(async () => {
    await createUser(t.database, email, PASSWORD);
    client = pkg.createClient({ baseUrl: origin });
  });

  it('registers a key, lists it, and a second key of the same name is refused', async () => {
    assert.deepEqual(await pkg.signIn(client, { email, password: PASSWORD }), {
      status: 'signed-in',
      user: (await pkg.me(client)).user,
    });
    assert.equal((await pkg.registerKey(client, 'Desk key', ceremonyOf(key))).email, email);
    const keys = await pkg.listKeys(client);
    assert.deepEqual(
      keys.map((k) => [k.name, k.credential_id, k.usage]),
      [['Desk key', key.id, 'secondary']],
    );
    await rejects(pkg.registerKey(client, 'Desk key', ceremonyOf(softKey())), 'WEBAUTHN_NAME_INUSE');
  });

  it('signs in with the password, then the key (the key signs: its counter moves)', async () => {
    await pkg.signOut(client);
    const result = await pkg.signIn(client, { email, password: PASSWORD });
    assert.deepEqual(result, { status: 'key-required', signInUrl: '/wan-signin' });
    const counter = key.counter;
    assert.equal((await pkg.signInWithKey(client, ceremonyOf(key))).email, email);
    assert.ok(key.counter > counter, 'the assertion was made by the key');
    assert.deepEqual((await pkg.me(client)).authn_methods, ['password', 'webauthn']);
  });

  it('regains freshness with the key (/wan-verify) when a change answers reauthRequired', async () => {
    await pkg.signOut(client);
    // Remembered, so the session outlives SECURITY_FRESHNESS and its grace (25 h) and only goes stale.
    assert.equal((await pkg.signIn(client, { email, password: PASSWORD, remember: true })).status, 'key-required');
    await pkg.signInWithKey(client, ceremonyOf(key));
    t.clock.advance(25 * 3600_000 + 1000);
    const stale = await pkg.listKeys(client).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(stale instanceof pkg.TfaApiError && stale.reauthRequired, `reauthRequired: ${String(stale)}`);
    await rejects(pkg.reauthenticateWithKey(client, ceremonyOf(softKey())), 'WEBAUTHN_UNKNOWN_CREDENTIAL_ID');
    const counter = key.counter;
    assert.equal((await pkg.reauthenticateWithKey(client, ceremonyOf(key))).email, email);
    assert.ok(key.counter > counter, 'the assertion was made by the key');
    assert.deepEqual(
      (await pkg.listKeys(client)).map((k) => k.name),
      ['Desk key'],
    );
  });

  it('a key the service does not know is refused and the sign-in stays pending', async () => {
    await pkg.signOut(client);
    await pkg.signIn(client, { email, password: PASSWORD });
    await rejects(pkg.signInWithKey(client, ceremonyOf(softKey())), 'WEBAUTHN_UNKNOWN_CREDENTIAL_ID');
    await rejects(pkg.me(client), 'UNAUTHENTICATED');
    assert.equal((await pkg.signInWithKey(client, ceremonyOf(key))).email, email);
  });

  it('with a key and an authenticator app, the user selects; each choice completes', async () => {
    const challenge = await pkg.beginSetup(client, { method: 'authenticator' });
    const secret = new URL(challenge.authenticator!.uri).searchParams.get('secret')!;
    await pkg.confirmSetup(client, challenge, oathtool(secret, t.clock.now()));
    await pkg.signOut(client);
    const first = await pkg.signIn(client, { email, password: PASSWORD });
    assert.equal(first.status, 'select-required');
    assert.deepEqual(first.status === 'select-required' && [...first.methods].sort(), ['authenticator', 'webauthn']);
    assert.deepEqual(await pkg.selectMethod(client, 'webauthn'), { status: 'key-required', signInUrl: '/wan-signin' });
    await pkg.signInWithKey(client, ceremonyOf(key));
    await pkg.signOut(client);
    await pkg.signIn(client, { email, password: PASSWORD });
    assert.deepEqual(await pkg.selectMethod(client, 'authenticator'), {
      status: 'code-required',
      method: 'authenticator',
    });
    t.clock.advance(30_000);
    assert.equal((await pkg.submitCode(client, oathtool(secret, t.clock.now()))).email, email);
  });

  it('deletes the key by name; a name it does not have is WEBAUTHN_NAME_NOT_FOUND', async () => {
    assert.deepEqual(await pkg.deleteKey(client, 'Desk key'), []);
    await rejects(pkg.deleteKey(client, 'Desk key'), 'WEBAUTHN_NAME_NOT_FOUND');
    await pkg.signOut(client);
    assert.deepEqual(await pkg.signIn(client, { email, password: PASSWORD }), {
      status: 'code-required',
      method: 'authenticator',
    });
  });
});

describe('token mode: the key step returns the auth token', () => {
  it('signs in with the key and uses the token alone afterwards', async () => {
    const email = uniqueEmail('pkg-key-token');
    const key = softKey();
    await createUser(t.database, email, PASSWORD);
    const setup = pkg.createClient({ baseUrl: origin });
    await pkg.signIn(setup, { email, password: PASSWORD });
    await pkg.registerKey(setup, 'Phone', ceremonyOf(key));

    const client = pkg.createClient({ baseUrl: origin, mode: 'token' });
    assert.equal((await pkg.signIn(client, { email, password: PASSWORD })).status, 'key-required');
    assert.equal(client.token, null, 'no token before the second factor');
    await pkg.signInWithKey(client, ceremonyOf(key));
    assert.ok(client.token, 'the key step carried include_auth_token and kept the token');
    const tokenOnly = pkg.createClient({ baseUrl: origin, mode: 'token', token: client.token });
    assert.equal((await pkg.me(tokenOnly)).user.email, email);
  });
});
