/**
 * A single-page app on another origin, in a real browser (Debian's Chromium),
 * using only the JSON API: register, authenticator setup from the QR code on
 * screen, remembered device, recovery codes and rescue, switch to e-mail codes,
 * remembered devices list and revoke, and unified sign-in: e-mailed sign-in
 * codes set up, then a sign-in with a code followed by the second factor.
 *
 * Threats: the browser-side guarantees an SPA relies on must hold in a real
 * browser, not only in inject(): the session cookie is HttpOnly (an XSS on any
 * port of the host cannot read it — cookies ignore ports), SameSite=Lax and
 * Secure; CORS lets only the listed origin read credentialed answers; a
 * signed-in state change without the CSRF token is refused; and a page on
 * another port of the same site — which SameSite does NOT keep out — can
 * neither read the session nor change anything with it (Origin check).
 * Dropping any of these makes a step below fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { oathtool } from '../helpers/real-clients.js';
import { uniqueEmail } from '../helpers/app.js';
import {
  AheadClock,
  assertCookieAttributes,
  launchChromium,
  resetScreenshots,
  scanPng,
  screenshot,
  setCookieAttributes,
  startApi,
  startForeignOrigin,
  typecheckSpa,
  waitForError,
  waitForUi,
  type RunningApi,
} from './harness.js';
import { startSpaServer, type SpaServer } from './spa-server.js';

const PASSWORD = 'correct horse battery staple';
const STEP_MS = 30_000;

let api: RunningApi | undefined;
let spa: SpaServer | undefined;
let foreign: { origin: string; close(): Promise<void> } | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let typecheck: ReturnType<typeof typecheckSpa>;
const email = uniqueEmail('spa');
const journey = {
  failed: false,
  totpSecret: '',
  lastTotpAt: new Date(0),
  recoveryCodes: [] as string[],
  sessionSetCookie: '',
  /** When the SPA last had a code e-mailed: the send limit allows one per 30 s per user. */
  lastSendAt: 0,
};

/** The service's clock, moved past the send limit's 30 s gap instead of waiting it out (README "Abuse resistance"). */
const clock = new AheadClock();

async function afterSendGap(): Promise<void> {
  const wait = journey.lastSendAt + 31_000 - clock.now().getTime();
  if (wait > 0) clock.offset += wait;
}
const apiRequests: { method: string; path: string; csrf: boolean }[] = [];
/** True while the test itself (not the SPA) sends requests from the SPA's page. */
let probing = false;

/** The steps are one user's journey: after a failure the rest are skipped, not failed confusingly. */
function step(name: string, fn: () => Promise<void>): void {
  it(name, async (t) => {
    if (journey.failed) return t.skip('an earlier step failed');
    try {
      await fn();
    } catch (err) {
      journey.failed = true;
      await screenshot(page, `failed-${name.replace(/\W+/g, '-').slice(0, 40)}`).catch(() => undefined);
      throw err;
    }
  });
}

/** A code for a time step after the last accepted one (replay protection, SPEC §4.3), never in the past. */
function nextTotp(): string {
  const next = (Math.floor(journey.lastTotpAt.getTime() / STEP_MS) + 1) * STEP_MS;
  journey.lastTotpAt = new Date(Math.max(clock.now().getTime(), next));
  return oathtool(journey.totpSecret, journey.lastTotpAt);
}

async function cookie(name: string) {
  return (await context.cookies(api!.origin)).find((c) => c.name === name);
}

async function signIn(remember: boolean): Promise<void> {
  await page.fill('#login-form [name=email]', email);
  await page.fill('#login-form [name=password]', PASSWORD);
  await page.setChecked('#login-form [name=remember]', remember);
  await page.click('#login-form button[type=submit]');
}

async function signOut(): Promise<void> {
  await page.click('#sign-out');
  await waitForUi(page, '#status', 'Signed out');
  assert.equal(await cookie('session'), undefined, 'sign-out clears the session cookie');
}

/** fetch() from inside a page; returns the status and error key, or the browser's refusal. */
async function fetchIn(
  p: Page,
  url: string,
  init: {
    method?: string;
    credentials: 'include' | 'omit';
    headers?: Record<string, string>;
    body?: string;
    mode?: 'cors' | 'no-cors';
  },
) {
  probing = true;
  try {
    return await p.evaluate(
      async ([u, i]) => {
        try {
          const res = await fetch(u, i);
          const data: any = res.type === 'opaque' ? null : await res.json().catch(() => null);
          return {
            status: res.status,
            code: data?.response?.error_code as string | undefined,
            email: data?.response?.user?.email as string | undefined,
          };
        } catch (err) {
          return { refused: String(err) };
        }
      },
      [url, init] as const,
    );
  } finally {
    probing = false;
  }
}

describe('the sample SPA in Chromium, served from another origin', () => {
  before(async () => {
    typecheck = typecheckSpa();
    resetScreenshots();
    spa = await startSpaServer();
    // Started together, but each kept as soon as it is up: if one fails, after() still closes the others
    // (a browser left running would keep the test process alive).
    const started = await Promise.allSettled([
      startApi(
        {
          SECURITY_REGISTERABLE: 'true',
          SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
          SECURITY_UNIFIED_SIGNIN: 'true',
          CORS_ORIGINS: spa.origin,
        },
        { clock },
      ).then((a) => (api = a)),
      launchChromium().then((b) => (browser = b)),
      startForeignOrigin().then((f) => (foreign = f)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    spa.apiOrigin = api!.origin;
    context = await browser!.newContext({ viewport: { width: 720, height: 420 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('request', (r) => {
      if (probing || !r.url().startsWith(`${api!.origin}/`)) return;
      apiRequests.push({ method: r.method(), path: new URL(r.url()).pathname, csrf: 'x-csrf-token' in r.headers() });
    });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([spa?.close(), foreign?.close(), api?.close()]);
  });

  it('the SPA typechecks against the types generated from openapi.yaml (tsc -p test/e2e/app)', async () => {
    const result = await typecheck;
    assert.ok(result.ok, result.output);
  });

  step('registers from its own origin through the JSON API', async () => {
    assert.notEqual(new URL(spa!.origin).port, new URL(api!.origin).port, 'two origins');
    await page.goto(spa!.origin);
    await waitForUi(page, '#status', 'Signed out');
    await page.fill('#register-form [name=email]', email);
    await page.fill('#register-form [name=password]', PASSWORD);
    const registered = page.waitForResponse((r) => r.url() === `${api!.origin}/register`);
    await page.click('#register-form button[type=submit]');
    journey.sessionSetCookie = await setCookieAttributes(await registered, 'session');
    await waitForUi(page, '#status', `Signed in as ${email} (password); second factor: none`);
    await screenshot(page, '01-registered');
  });

  step('the session cookie is HttpOnly, SameSite=Lax and Secure, and no script can read it', async () => {
    // Cookies ignore ports: without HttpOnly the SPA's own document would see the API's session.
    const visible = await page.evaluate(() => (globalThis as any).document.cookie as string);
    const names = visible.split(/;\s*/).map((c) => c.split('=')[0]);
    assert.ok(
      !names.includes('session'),
      `document.cookie must not show the session cookie (HttpOnly); it shows: ${names.join(', ')}`,
    );
    assertCookieAttributes(journey.sessionSetCookie, 'the session cookie', 'Lax');
    const session = await cookie('session');
    assert.ok(session, 'the browser stored the session cookie (Secure is accepted on http://127.0.0.1)');
    assert.equal(session.httpOnly, true, 'session cookie: HttpOnly');
    assert.equal(session.sameSite, 'Lax', 'session cookie: SameSite=Lax');
    assert.equal(session.secure, true, 'session cookie: Secure');
    // CORS with credentials: the listed origin reads the signed-in answer; without cookies it is anonymous.
    assert.deepEqual(await fetchIn(page, `${api!.origin}/me`, { credentials: 'include' }), {
      status: 200,
      code: undefined,
      email,
    });
    assert.deepEqual(await fetchIn(page, `${api!.origin}/me`, { credentials: 'omit' }), {
      status: 401,
      code: 'UNAUTHENTICATED',
      email: undefined,
    });
  });

  step('a signed-in state change without the X-CSRF-Token header is refused', async () => {
    const verify = (headers: Record<string, string>) =>
      fetchIn(page, `${api!.origin}/verify`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ password: PASSWORD }),
      });
    assert.deepEqual(await verify({}), { status: 400, code: 'CSRF_TOKEN_MISSING', email: undefined });
    assert.deepEqual(await verify({ 'X-CSRF-Token': 'forged' }), {
      status: 400,
      code: 'CSRF_TOKEN_INVALID',
      email: undefined,
    });
  });

  step('a page on another port of the same site can neither read the session nor act with it', async () => {
    const evil = await context.newPage();
    try {
      await evil.goto(foreign!.origin);
      // SameSite=Lax sends the cookie here (same site), so CORS and the Origin check are what stop it.
      const read = await fetchIn(evil, `${api!.origin}/me`, { credentials: 'include' });
      assert.match(
        String(read.refused),
        /TypeError: Failed to fetch/,
        'CORS hides the signed-in answer from an unlisted origin',
      );
      const forged = evil.waitForResponse((r) => r.url() === `${api!.origin}/logout`);
      await fetchIn(evil, `${api!.origin}/logout`, {
        method: 'POST',
        mode: 'no-cors',
        credentials: 'include',
        headers: { 'Content-Type': 'text/plain' },
        body: '{}',
      });
      // The answer is opaque to the page and Chromium keeps no body for it; 403 is only ever ORIGIN_NOT_ALLOWED.
      assert.equal((await forged).status(), 403, 'the Origin check refuses the forged sign-out');
    } finally {
      await evil.close();
    }
    assert.equal((await fetchIn(page, `${api!.origin}/me`, { credentials: 'include' })).status, 200, 'still signed in');
  });

  step('allows sign-in with e-mailed codes: /us-setup, then the e-mailed code confirms it', async () => {
    const started = page.waitForResponse(
      (r) => r.url() === `${api!.origin}/us-setup` && r.request().method() === 'POST',
    );
    await page.click('#us-setup-email');
    assert.equal((await started).status(), 200);
    journey.lastSendAt = clock.now().getTime();
    await waitForUi(page, '#setup-hint', 'We sent a code to your e-mail address');
    await page.fill('#setup-form [name=code]', api!.senders.lastCode(email));
    await page.click('#setup-form button[type=submit]');
    await waitForUi(page, '#notice', 'You can now sign in with a code sent by e-mail');
    await screenshot(page, '01b-us-email');
  });

  step('sets up an authenticator from the QR code on screen (zbarimg) and a code from oathtool', async () => {
    const started = page.waitForResponse(
      (r) => r.url() === `${api!.origin}/tf-setup` && r.request().method() === 'POST',
    );
    await page.click('#setup-authenticator');
    const setup = (await (await started).json()).response;
    await waitForUi(page, '#qr');
    const qr = page.locator('#qr');
    await page.waitForFunction(() => {
      const img = (globalThis as any).document.getElementById('qr');
      return img.complete && img.naturalWidth > 0;
    });
    const scanned = scanPng(await qr.screenshot());
    assert.equal(scanned, setup.tf_authr_uri, 'the QR image in the page encodes the otpauth URI');
    assert.match(scanned, /^otpauth:\/\/totp\/tfa-service:/);
    journey.totpSecret = new URL(scanned).searchParams.get('secret') ?? '';
    assert.equal(
      (await page.textContent('#manual-key'))?.replace(/-/g, ''),
      journey.totpSecret,
      'the manual key is the same secret',
    );
    await screenshot(page, '02-authenticator-setup');
    await page.fill('#setup-form [name=code]', nextTotp());
    await page.click('#setup-form button[type=submit]');
    await waitForUi(page, '#status', 'second factor: authenticator');
  });

  step(
    'signing in asks for the code; "Remember this device" stores an HttpOnly, SameSite=Strict tf_validity cookie',
    async () => {
      await signOut();
      await signIn(true);
      await waitForUi(page, '#second-factor-hint', 'authenticator app');
      await page.fill('#code-form [name=code]', nextTotp());
      const validated = page.waitForResponse((r) => r.url() === `${api!.origin}/tf-validate`);
      await page.click('#code-form button[type=submit]');
      assertCookieAttributes(await setCookieAttributes(await validated, 'tf_validity'), 'tf_validity', 'Strict');
      await waitForUi(page, '#status', `Signed in as ${email} (password + authenticator)`);
      const device = await cookie('tf_validity');
      assert.ok(device, 'the remembered-device cookie is set');
      assert.equal(device.httpOnly, true, 'tf_validity: HttpOnly');
      assert.equal(device.sameSite, 'Strict', 'tf_validity: SameSite=Strict');
      assert.equal(device.secure, true, 'tf_validity: Secure');
      assert.ok(
        device.expires * 1000 > Date.now() + 29 * 86_400_000,
        'it lasts SECURITY_TWO_FACTOR_LOGIN_VALIDITY (30 days)',
      );
    },
  );

  step('signing out and in again on the remembered device skips the code', async () => {
    await signOut();
    const login = page.waitForResponse((r) => r.url() === `${api!.origin}/login` && r.request().method() === 'POST');
    await signIn(true);
    assert.equal((await (await login).json()).response.tf_required, false);
    await waitForUi(page, '#status', '(password + remembered_device); second factor: authenticator');
    await screenshot(page, '03-remembered-device');
  });

  step('generates recovery codes and shows them', async () => {
    await page.click('#generate-codes');
    await waitForUi(page, '#recovery-code-list li');
    const items = page.locator('#recovery-code-list li');
    journey.recoveryCodes = await items.allTextContents();
    assert.equal(journey.recoveryCodes.length, 5);
    for (const code of journey.recoveryCodes) assert.match(code, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    await screenshot(page, '04-recovery-codes');
  });

  step('lists the remembered device as this one and revokes it', async () => {
    await page.click('#show-devices');
    await waitForUi(page, '#device-rows tr');
    const rows = page.locator('#device-rows tr');
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? '', /HeadlessChrome\/\d+ \(this device\)/);
    await screenshot(page, '05-devices');
    await rows.first().locator('button', { hasText: 'Revoke' }).click();
    await waitForUi(page, '#no-devices', 'No remembered devices');
    assert.equal(await rows.count(), 0);
    assert.equal(await cookie('tf_validity'), undefined, 'revoking this device clears its cookie');
  });

  step('without the device, a recovery code signs the user in (/tf-rescue → /mf-recovery)', async () => {
    await signOut();
    await signIn(false);
    await waitForUi(page, '#second-factor-hint', 'authenticator app');
    await page.click('#rescue-button');
    await waitForUi(page, '#rescue-options button[data-option=recovery_code]');
    const choice = page.locator('#rescue-options button[data-option=recovery_code]');
    assert.deepEqual(
      await page.locator('#rescue-options button').evaluateAll((bs) => bs.map((b) => b.dataset.option).sort()),
      ['email', 'help', 'recovery_code'],
    );
    await choice.click();
    await waitForUi(page, '#recovery-form');
    await page.fill('#recovery-form [name=code]', 'ffff-ffff-ffff');
    await page.click('#recovery-form button[type=submit]');
    assert.deepEqual(await waitForError(page), { code: 'INVALID_RECOVERY_CODE', message: 'Recovery code invalid' });
    await screenshot(page, '06-rescue');
    // Typed the way a person might: upper case, spaces for dashes.
    await page.fill('#recovery-form [name=code]', journey.recoveryCodes[0]!.toUpperCase().replace(/-/g, ' '));
    await page.click('#recovery-form button[type=submit]');
    await waitForUi(page, '#status', `Signed in as ${email} (password + recovery_code)`);
  });

  step('signs in with an e-mailed code instead of the password; the authenticator follows', async () => {
    await signOut();
    await afterSendGap();
    await page.fill('#us-form [name=identity]', email);
    await page.click('#us-send-code');
    await waitForUi(page, '#us-hint', 'We sent a code');
    journey.lastSendAt = clock.now().getTime();
    const code = api!.senders.lastCode(email);
    await page.fill('#us-form [name=passcode]', code === '000000' ? '111111' : '000000');
    await page.click('#us-form button[type=submit]');
    assert.deepEqual(await waitForError(page), {
      code: 'INVALID_PASSWORD_CODE',
      message: 'Password or code submitted is not valid',
    });
    await screenshot(page, '06b-us-signin');
    await page.fill('#us-form [name=passcode]', code);
    await page.click('#us-form button[type=submit]');
    // E-mail is in SECURITY_US_MFA_REQUIRED: the second factor follows, exactly as after /login.
    await waitForUi(page, '#second-factor-hint', 'authenticator app');
    await page.fill('#code-form [name=code]', nextTotp());
    await page.click('#code-form button[type=submit]');
    await waitForUi(page, '#status', `Signed in as ${email} (email + authenticator); second factor: authenticator`);
  });

  step('changes the method to e-mail with the e-mailed code', async () => {
    await afterSendGap();
    const started = page.waitForResponse(
      (r) => r.url() === `${api!.origin}/tf-setup` && r.request().method() === 'POST',
    );
    await page.click('#setup-email');
    assert.equal((await started).status(), 200);
    await waitForUi(page, '#setup-hint', 'We sent a code to your e-mail address');
    const code = api!.senders.lastCode(email);
    await page.fill('#setup-form [name=code]', code === '000000' ? '111111' : '000000');
    await page.click('#setup-form button[type=submit]');
    assert.deepEqual(await waitForError(page), { code: 'TWO_FACTOR_INVALID_TOKEN', message: 'Invalid code' });
    await page.fill('#setup-form [name=code]', code);
    await page.click('#setup-form button[type=submit]');
    await waitForUi(page, '#status', 'second factor: email');
    await screenshot(page, '07-email-method');
  });

  step('signs out; every change the SPA made with a session carried the CSRF token', async () => {
    await signOut();
    const changes = apiRequests.filter((r) => r.method !== 'GET' && r.method !== 'OPTIONS');
    const anonymous = new Set(['/register', '/login', '/us-signin', '/us-signin/send-code']);
    assert.ok(changes.length >= 10, `the SPA made the changes (${changes.length})`);
    assert.deepEqual(
      changes.filter((r) => !anonymous.has(r.path) && !r.csrf),
      [],
      'X-CSRF-Token on every change after the first factor',
    );
  });
});
