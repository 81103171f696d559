/**
 * The client package's unified sign-in flows (packages/client/src/flows/unified.ts),
 * built as published, in Node against the real service on 127.0.0.1 in cookie mode:
 * add sign-in methods (the e-mailed code read from the recording sender, the SMS code
 * likewise, the authenticator's QR code read with zbarimg and its code from oathtool),
 * sign in with a code instead of the password, and with the password when the user has
 * a second factor, which must then follow. The service's clock is moved instead of
 * sleeping (TOTP replay).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as Client from '../../packages/client/src/index.js';
import { createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { oathtool, scanQrSvg, svgOfDataUri } from '../helpers/real-clients.js';
import { US_ENV } from '../helpers/unified-signin.js';
import { rejectsWith, servedPackage } from './served.js';

const PASSWORD = 'correct horse battery staple';
const STEP_MS = 30_000;
const PHONE = '+1 415 555 0123';

let pkg: typeof Client;
let t: TestApp;
let origin: string;
const served = servedPackage(US_ENV, (s) => ({ pkg, t, origin } = s));

/** Past the send gap (one code per destination every 30 s), by moving the service's clock. */
function afterSendGap(): void {
  t.clock.advance(31_000);
}

/** The authenticator's code for the service's current time step, after moving past the last one used. */
function nextTotp(secret: string): string {
  t.clock.advance(STEP_MS);
  return oathtool(secret, t.clock.now());
}

const rejects = (promise: Promise<unknown>, code: string) => rejectsWith(served, promise, code);

describe('unified sign-in through the client package', () => {
  const email = uniqueEmail('pkg-us');
  let client: Client.TfaClient;
  let secret: string;

  before(async () => {
    await createUser(t.database, email, PASSWORD);
    client = pkg.createClient({ baseUrl: origin });
    assert.equal((await pkg.signIn(client, { email, password: PASSWORD })).status, 'signed-in');
  });

  it('offers the enabled methods; a new user signs in with the password only', async () => {
    assert.deepEqual(await pkg.unifiedSignInOptions(client), {
      methods: ['password', 'email', 'authenticator', 'sms'],
      codeMethods: ['email', 'sms'],
    });
    assert.deepEqual(await pkg.unifiedMethods(client), {
      active: ['password'],
      available: ['email', 'authenticator', 'sms'],
      phone: null,
    });
  });

  it('adds e-mail codes with the e-mailed code; a wrong code stores nothing', async () => {
    const wrong = await pkg.beginUnifiedSetup(client, { method: 'email' });
    const sent = t.senders.lastCode(email);
    await rejects(
      pkg.confirmUnifiedSetup(client, wrong, sent === '000000' ? '111111' : '000000'),
      'INVALID_PASSWORD_CODE',
    );
    assert.deepEqual((await pkg.unifiedMethods(client)).active, ['password']);

    afterSendGap();
    const challenge = await pkg.beginUnifiedSetup(client, { method: 'email' });
    assert.equal(challenge.method, 'email');
    assert.equal(challenge.authenticator, undefined);
    assert.deepEqual(await pkg.confirmUnifiedSetup(client, challenge, t.senders.lastCode(email)), {
      method: 'email',
      phone: null,
    });
  });

  it('adds SMS codes and an authenticator (QR code read with zbarimg, code from oathtool)', async () => {
    afterSendGap();
    const sms = await pkg.beginUnifiedSetup(client, { method: 'sms', phone: PHONE });
    assert.equal(sms.phone, '+14155550123', 'the number as E.164');
    assert.deepEqual(await pkg.confirmUnifiedSetup(client, sms, t.senders.lastCode('+14155550123')), {
      method: 'sms',
      phone: '+14155550123',
    });

    const app = await pkg.beginUnifiedSetup(client, { method: 'authenticator' });
    const scanned = scanQrSvg(svgOfDataUri(app.authenticator!.qrCode));
    assert.equal(scanned, app.authenticator!.uri, 'the QR code encodes the otpauth URI');
    secret = new URL(scanned).searchParams.get('secret')!;
    assert.equal(app.authenticator!.key.replaceAll('-', ''), secret);
    await pkg.confirmUnifiedSetup(client, app, nextTotp(secret));
    assert.deepEqual(await pkg.unifiedMethods(client), {
      active: ['password', 'email', 'authenticator', 'sms'],
      available: ['email', 'authenticator', 'sms'],
      phone: '+14155550123',
    });
  });

  it('signs in with an e-mailed code, an SMS code or the app’s code instead of the password', async () => {
    await pkg.signOut(client);
    afterSendGap();
    await pkg.sendSignInCode(client, email, 'email');
    const byMail = await pkg.signInWithPasscode(client, { identity: email, passcode: t.senders.lastCode(email) });
    // E-mail is in SECURITY_US_MFA_REQUIRED, but this user has no second factor to ask for.
    assert.equal(byMail.status, 'signed-in');
    assert.deepEqual((await pkg.me(client)).authn_methods, ['email']);

    await pkg.signOut(client);
    afterSendGap();
    await pkg.sendSignInCode(client, email, 'sms');
    const bySms = await pkg.signInWithPasscode(client, {
      identity: email,
      passcode: t.senders.lastCode('+14155550123'),
    });
    assert.equal(bySms.status, 'signed-in');

    await pkg.signOut(client);
    const byApp = await pkg.signInWithPasscode(client, { identity: email, passcode: ` ${nextTotp(secret)} ` });
    assert.equal(byApp.status, 'signed-in');
    assert.deepEqual((await pkg.me(client)).authn_methods, ['authenticator']);
  });

  it('refuses a wrong passcode and an unknown identity alike', async () => {
    await pkg.signOut(client);
    await rejects(
      pkg.signInWithPasscode(client, { identity: email, passcode: 'not the password' }),
      'INVALID_PASSWORD_CODE',
    );
    await rejects(
      pkg.signInWithPasscode(client, { identity: uniqueEmail('nobody'), passcode: PASSWORD }),
      'INVALID_PASSWORD_CODE',
    );
  });

  it('removes a method: its code is no longer sent', async () => {
    assert.equal((await pkg.signInWithPasscode(client, { identity: email, passcode: PASSWORD })).status, 'signed-in');
    await pkg.removeUnifiedMethods(client, ['email']);
    assert.deepEqual((await pkg.unifiedMethods(client)).active, ['password', 'authenticator', 'sms']);
    await pkg.signOut(client);
    afterSendGap();
    await rejects(pkg.sendSignInCode(client, email, 'email'), 'US_METHOD_NOT_AVAILABLE');
  });

  it('regains freshness with a code (/us-verify) when a change answers reauthRequired', async () => {
    // Remembered, so the session outlives SECURITY_FRESHNESS and its grace (25 h) and only goes stale.
    const signedIn = await pkg.signInWithPasscode(client, { identity: email, passcode: PASSWORD, remember: true });
    assert.equal(signedIn.status, 'signed-in');
    t.clock.advance(25 * 3600_000 + 1000);
    const stale = await pkg.unifiedMethods(client).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(stale instanceof pkg.TfaApiError && stale.reauthRequired, `reauthRequired: ${String(stale)}`);
    assert.deepEqual(await pkg.reauthenticationOptions(client), {
      methods: ['password', 'email', 'authenticator', 'sms'],
      codeMethods: ['sms'],
    });
    afterSendGap();
    await pkg.sendReauthenticationCode(client, 'sms');
    await rejects(pkg.reauthenticateWithPasscode(client, 'not the code'), 'INVALID_PASSWORD_CODE');
    assert.equal((await pkg.reauthenticateWithPasscode(client, t.senders.lastCode('+14155550123'))).email, email);
    assert.deepEqual((await pkg.unifiedMethods(client)).active, ['password', 'authenticator', 'sms']);
    // The authenticator's code does it too.
    t.clock.advance(25 * 3600_000 + 1000);
    assert.equal((await pkg.reauthenticateWithPasscode(client, nextTotp(secret))).email, email);
    assert.deepEqual((await pkg.unifiedMethods(client)).active, ['password', 'authenticator', 'sms']);
  });
});

describe('unified sign-in with a second factor, through the client package', () => {
  it('the password by /us-signin asks for the second factor, which submitCode gives', async () => {
    const email = uniqueEmail('pkg-us-tf');
    await createUser(t.database, email, PASSWORD);
    const client = pkg.createClient({ baseUrl: origin });
    await pkg.signIn(client, { email, password: PASSWORD });
    const challenge = await pkg.beginSetup(client, { method: 'authenticator' });
    const secret = new URL(challenge.authenticator!.uri).searchParams.get('secret')!;
    await pkg.confirmSetup(client, challenge, nextTotp(secret));
    await pkg.signOut(client);

    const result = await pkg.signInWithPasscode(client, { identity: email, passcode: PASSWORD });
    assert.deepEqual(result, { status: 'code-required', method: 'authenticator' });
    assert.equal((await pkg.submitCode(client, nextTotp(secret))).email, email);
    assert.deepEqual((await pkg.me(client)).authn_methods, ['password', 'authenticator']);
  });
});
