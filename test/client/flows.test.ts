/**
 * The client package (packages/client), built as it would be published, in
 * Node against the real service on 127.0.0.1: every flow of its README, in
 * cookie mode (its own cookie jar, the CSRF token handled for the caller) and
 * in token mode. Codes come from oathtool (authenticator) and the recording
 * e-mail sender; the QR code is read with zbarimg. The service's clock is
 * moved instead of sleeping (send gaps, TOTP replay).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as Client from '../../packages/client/src/index.js';
import { createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { oathtool, scanQrSvg, svgOfDataUri } from '../helpers/real-clients.js';
import { rejectsWith, servedPackage } from './served.js';

const PASSWORD = 'correct horse battery staple';
const STEP_MS = 30_000;

let pkg: typeof Client;
let t: TestApp;
let origin: string;
const served = servedPackage(
  { SECURITY_TWO_FACTOR_REQUIRED: 'true', SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false' },
  (s) => ({ pkg, t, origin } = s),
);

/** The authenticator's code for the service's current time step, after moving past the last one used (replay protection). */
function nextTotp(secret: string): string {
  t.clock.advance(STEP_MS);
  return oathtool(secret, t.clock.now());
}

const rejects = (promise: Promise<unknown>, code: string) => rejectsWith(served, promise, code);

/** A user who went through the required setup with an authenticator; returns the secret read off the QR code. */
async function enrolWithAuthenticator(client: Client.TfaClient, email: string): Promise<string> {
  const first = await pkg.signIn(client, { email, password: PASSWORD });
  assert.equal(first.status, 'setup-required');
  assert.ok(first.status === 'setup-required' && first.methods.includes('authenticator'));
  const challenge = await pkg.beginSetup(client, { method: 'authenticator' });
  assert.equal(challenge.stateToken, null, 'a setup at sign-in has no state token');
  const scanned = scanQrSvg(svgOfDataUri(challenge.authenticator!.qrCode));
  assert.equal(scanned, challenge.authenticator!.uri, 'the QR code encodes the otpauth URI');
  const secret = new URL(scanned).searchParams.get('secret')!;
  const user = await pkg.confirmSetup(client, challenge, nextTotp(secret));
  assert.equal(user.email, email);
  return secret;
}

describe('cookie mode (the session cookie and the CSRF token handled by the client)', () => {
  const email = uniqueEmail('pkg-cookie');
  let client: Client.TfaClient;
  let secret = '';
  let recoveryCodes: string[] = [];

  before(async () => {
    await createUser(t.database, email, PASSWORD);
    client = pkg.createClient({ baseUrl: origin });
  });

  it('required setup at first sign-in: QR code, confirm, then recovery codes', async () => {
    secret = await enrolWithAuthenticator(client, email);
    const me = await pkg.me(client);
    assert.equal(me.tf_primary_method, 'authenticator');
    assert.deepEqual(me.authn_methods, ['password', 'authenticator']);
    recoveryCodes = await pkg.generateRecoveryCodes(client);
    assert.equal(recoveryCodes.length, 5);
    assert.equal(await pkg.recoveryCodesRemaining(client), 5);
  });

  it('signs out, then in with password and code; a wrong code is a typed error on `code`', async () => {
    await pkg.signOut(client);
    await rejects(pkg.me(client), 'UNAUTHENTICATED');
    assert.deepEqual(await pkg.signIn(client, { email, password: PASSWORD }), {
      status: 'code-required',
      method: 'authenticator',
    });
    const wrong = await rejects(pkg.submitCode(client, '000000'), 'TWO_FACTOR_INVALID_TOKEN');
    assert.equal(wrong.status, 400);
    assert.ok(wrong.fieldErrors.code?.length, 'the message is tied to the code field');
    assert.equal((await pkg.submitCode(client, nextTotp(secret))).email, email);
  });

  it('a wrong password is GENERIC_AUTHN_FAILED', async () => {
    const other = pkg.createClient({ baseUrl: origin });
    await rejects(pkg.signIn(other, { email, password: 'not the password' }), 'GENERIC_AUTHN_FAILED');
  });

  it('fetches a fresh CSRF token and retries once when the service refuses the one it holds', async () => {
    const sent: (string | undefined)[] = [];
    let tamper = true;
    const tampering: Client.FetchLike = (url, init) => {
      // The token rotated behind the client's back (e.g. another tab signed in again).
      if (tamper && init.headers['X-CSRF-Token']) init.headers['X-CSRF-Token'] = 'stale';
      tamper = false;
      sent.push(init.headers['X-CSRF-Token']);
      return fetch(url, init);
    };
    const c2 = pkg.createClient({ baseUrl: origin, fetch: tampering });
    t.clock.advance(STEP_MS);
    const result = await pkg.signIn(c2, { email, password: PASSWORD });
    assert.equal(result.status, 'code-required');
    await pkg.submitCode(c2, nextTotp(secret));
    tamper = true;
    const codes = await pkg.generateRecoveryCodes(c2);
    assert.equal(codes.length, 5);
    assert.equal(sent.at(-3), 'stale', 'the first try carried the stale token');
    assert.notEqual(sent.at(-1), 'stale', 'the retry carried the fresh one');
    recoveryCodes = codes;
  });

  it('rescue with a recovery code; a used code is refused', async () => {
    await pkg.signOut(client);
    await pkg.signIn(client, { email, password: PASSWORD });
    const options = await pkg.rescueOptions(client);
    assert.ok(options.includes('recovery_code') && options.includes('help'), options.join());
    assert.equal(await pkg.rescue(client, 'recovery_code'), 'enter-recovery-code');
    await pkg.useRecoveryCode(client, recoveryCodes[0]!);
    assert.deepEqual((await pkg.me(client)).authn_methods, ['password', 'recovery_code']);
    await pkg.signOut(client);
    await pkg.signIn(client, { email, password: PASSWORD });
    await rejects(pkg.useRecoveryCode(client, recoveryCodes[0]!), 'INVALID_RECOVERY_CODE');
  });

  it('a remembered device skips the code until it is forgotten', async () => {
    const device = pkg.createClient({ baseUrl: origin });
    await pkg.signIn(device, { email, password: PASSWORD, remember: true });
    await pkg.submitCode(device, nextTotp(secret));
    const devices = await pkg.listDevices(device);
    assert.equal(devices.length, 1);
    assert.equal(devices[0]!.current, true);
    await pkg.signOut(device);
    const again = await pkg.signIn(device, { email, password: PASSWORD, remember: true });
    assert.equal(again.status, 'signed-in', 'the tf_validity cookie outlived the sign-out');
    assert.deepEqual(await pkg.forgetDevice(device, devices[0]!.id), []);
    await pkg.signOut(device);
    assert.equal((await pkg.signIn(device, { email, password: PASSWORD })).status, 'code-required');
  });
});

describe('e-mail codes: setup change, resend, disable', () => {
  const email = uniqueEmail('pkg-email');

  it('changes to e-mail codes with the state token; a resend inside the send gap is 429 with retryAfter, after it a new code', async () => {
    await createUser(t.database, email, PASSWORD);
    const client = pkg.createClient({ baseUrl: origin });
    await enrolWithAuthenticator(client, email);
    const challenge = await pkg.beginSetup(client, { method: 'email' });
    assert.equal(typeof challenge.stateToken, 'string', 'a signed-in change carries a state token');
    const early = await rejects(pkg.resendSetupCode(client, challenge), 'RATE_LIMITED');
    assert.equal(early.status, 429);
    assert.ok(early.retryAfter !== undefined && early.retryAfter >= 1, `retryAfter ${early.retryAfter}`);
    const firstCode = t.senders.lastCode(email);
    t.clock.advance(early.retryAfter! * 1000);
    const resent = await pkg.resendSetupCode(client, challenge);
    const secondCode = t.senders.lastCode(email);
    assert.equal(t.senders.emails.filter((m) => m.to === email).length, 2, 'one code per send');
    assert.equal((await pkg.confirmSetup(client, resent, secondCode)).email, email);
    assert.equal((await pkg.me(client)).tf_primary_method, 'email');
    assert.notEqual(firstCode, secondCode);
  });

  it('resends a sign-in code by repeating the password step', async () => {
    const client = pkg.createClient({ baseUrl: origin });
    const credentials = { email, password: PASSWORD };
    t.clock.advance(STEP_MS + 1000);
    assert.deepEqual(await pkg.signIn(client, credentials), { status: 'code-required', method: 'email' });
    t.clock.advance(STEP_MS + 1000);
    await pkg.resendSignInCode(client, credentials);
    assert.equal((await pkg.submitCode(client, t.senders.lastCode(email))).email, email);
  });

  it('refuses to disable the second factor when it is required', async () => {
    const client = pkg.createClient({ baseUrl: origin });
    t.clock.advance(STEP_MS + 1000);
    await pkg.signIn(client, { email, password: PASSWORD });
    await pkg.submitCode(client, t.senders.lastCode(email));
    await rejects(pkg.disableSecondFactor(client), 'TWO_FACTOR_METHOD_NOT_AVAILABLE');
  });
});

describe('token mode', () => {
  const email = uniqueEmail('pkg-token');

  it('the sign-in returns a token, which alone (no cookie, no CSRF) authenticates later calls', async () => {
    await createUser(t.database, email, PASSWORD);
    const tokens: (string | null)[] = [];
    const client = pkg.createClient({ baseUrl: origin, mode: 'token', onTokenChange: (tk) => tokens.push(tk) });
    const secret = await enrolWithAuthenticator(client, email);
    assert.ok(client.token, 'the setup that signed in returned a token');
    assert.deepEqual(tokens, [client.token]);

    const headers: Record<string, string>[] = [];
    const bare = pkg.createClient({
      baseUrl: origin,
      mode: 'token',
      token: client.token,
      cookieJar: false,
      fetch: (url, init) => (headers.push(init.headers), fetch(url, init)),
    });
    assert.equal((await pkg.me(bare)).user.email, email);
    assert.equal((await pkg.generateRecoveryCodes(bare)).length, 5);
    assert.equal(headers.at(-1)!['Authentication-Token'], client.token);
    assert.equal(headers.at(-1)!['X-CSRF-Token'], undefined, 'token callers send no CSRF token');
    assert.equal(headers.at(-1)!['Cookie'], undefined);

    await pkg.signOut(client);
    assert.equal(client.token, null);
    assert.deepEqual(tokens.at(-1), null);
    const again = await pkg.signIn(client, { email, password: PASSWORD });
    assert.equal(again.status, 'code-required');
    await pkg.submitCode(client, nextTotp(secret));
    assert.ok(client.token);
  });

  it('sends the token in a configured header (Authorization: Bearer once the service accepts it)', async () => {
    const seen: Record<string, string>[] = [];
    const client = pkg.createClient({
      baseUrl: origin,
      mode: 'token',
      token: 'tok',
      tokenHeader: { name: 'Authorization', scheme: 'Bearer' },
      fetch: (url, init) => (seen.push(init.headers), fetch(url, init)),
    });
    await pkg.currentUser(client);
    assert.equal(seen[0]!['Authorization'], 'Bearer tok');
    assert.equal(seen[0]!['Authentication-Token'], undefined);
  });
});

describe('errors without an answer', () => {
  it('an unreachable service is a TfaNetworkError, not a TfaApiError', async () => {
    const client = pkg.createClient({ baseUrl: 'http://127.0.0.1:9' });
    const err = await pkg.me(client).catch((e: unknown) => e);
    assert.ok(err instanceof pkg.TfaNetworkError, String(err));
  });
});
