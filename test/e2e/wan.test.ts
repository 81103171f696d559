/**
 * The sample SPA registers a security key and signs in with it, in Chromium, with the
 * DevTools virtual authenticator (WebAuthn.addVirtualAuthenticator over CDP) standing in
 * for a USB key: the browser makes the attestation and the assertion itself, and the
 * service verifies them (README "Security keys").
 *
 * WebAuthn needs a secure context and an RP id that is the page's domain: the SPA and the
 * API are reached as http://localhost:<port> (a secure context; an IP address cannot be an
 * RP id), on two ports of one site.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { uniqueEmail } from '../helpers/app.js';
import {
  addVirtualKey,
  launchChromium,
  localhost,
  startApi,
  waitForUi,
  screenshot,
  type RunningApi,
} from './harness.js';
import { startSpaServer, type SpaServer } from './spa-server.js';

const PASSWORD = 'correct horse battery staple';

describe('the sample SPA with a security key (virtual authenticator in Chromium)', () => {
  let api: RunningApi | undefined;
  let spa: SpaServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  const email = uniqueEmail('spakey');

  before(async () => {
    spa = await startSpaServer();
    const spaOrigin = localhost(spa.origin);
    const started = await Promise.allSettled([
      startApi({
        SECURITY_REGISTERABLE: 'true',
        CORS_ORIGINS: spaOrigin,
        SECURITY_WEBAUTHN: 'true',
        SECURITY_WAN_RP_ID: 'localhost',
        SECURITY_WAN_ORIGINS: spaOrigin,
      }).then((a) => (api = a)),
      launchChromium().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    spa.apiOrigin = localhost(api!.origin);
    const context = await browser!.newContext({ viewport: { width: 720, height: 420 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    ({ cdp, authenticatorId } = await addVirtualKey(context, page));
    await page.goto(localhost(spa.origin));
  });

  after(async () => {
    await browser?.close();
    await Promise.all([spa?.close(), api?.close()]);
  });

  it('registers, adds a key in the browser, then signs in with the password and the key', async () => {
    await waitForUi(page, '#status', 'Signed out');
    await page.fill('#register-form [name=email]', email);
    await page.fill('#register-form [name=password]', PASSWORD);
    await page.click('#register-form button[type=submit]');
    await waitForUi(page, '#status', `Signed in as ${email} (password); second factor: none`);

    await page.fill('#key-form [name=name]', 'My USB key');
    await page.click('#key-form button[type=submit]');
    await waitForUi(page, '#key-message', 'Security key "My USB key" added.');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the virtual authenticator holds the new credential');
    assert.equal(credentials[0]!.rpId, 'localhost');

    await page.click('#sign-out');
    await waitForUi(page, '#status', 'Signed out');
    await page.fill('#login-form [name=email]', email);
    await page.fill('#login-form [name=password]', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await waitForUi(page, '#second-factor-hint', 'Use your security key.');
    await screenshot(page, 'wan-01-key-asked');
    const signCountBefore = credentials[0]!.signCount;
    await page.click('#use-key');
    await waitForUi(page, '#status', `Signed in as ${email} (password + webauthn); second factor: none`);
    await screenshot(page, 'wan-02-signed-in-with-key');
    const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!;
    assert.ok(after.signCount > signCountBefore, 'the key signed (its counter moved)');
  });
});
