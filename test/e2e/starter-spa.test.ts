/**
 * The starter SPA (examples/starter-spa), built by Vite as production would
 * ship it and served from its own origin, in Debian's Chromium against the
 * real service on 127.0.0.1 with SECURITY_TWO_FACTOR_REQUIRED=true. One
 * user's journey through every screen: required setup at first sign-in with
 * the QR code read off the screen by zbarimg (as a phone would), the recovery
 * codes shown right after, sign out and in with an oathtool code, a wrong
 * code, rescue with a recovery code, a remembered device skipping the code and
 * then forgotten, e-mail codes resent inside and after the send gap, and a
 * security key added from the account and used at sign-in (after choosing it
 * over the e-mail code), made and used by Chromium's virtual authenticator
 * (WebAuthn.addVirtualAuthenticator over CDP).
 *
 * Threats: the browser-side guarantees an SPA relies on must hold in a real
 * browser, not only in inject(): the session cookie is HttpOnly (an XSS on any
 * port of the host cannot read it — cookies ignore ports), SameSite=Lax and
 * Secure; CORS lets only the listed origin read credentialed answers; a
 * signed-in state change without the CSRF token is refused; and a page on
 * another port of the same site — which SameSite does NOT keep out — can
 * neither read the session nor change anything with it (Origin check).
 * Dropping any of these makes a step below fail.
 *
 * The SPA and the service are reached as http://localhost:<port>: WebAuthn needs a
 * secure context and an RP id that is the page's domain (an IP address cannot be one),
 * and two ports of localhost are one site, so the session cookie goes along.
 *
 * The service's clock runs ahead of wall time on demand (the 30 s send gap, a
 * new TOTP step) instead of the test sleeping; the browser's own clock is wall
 * time, which only cookie lifetimes (days) depend on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { createUser, uniqueEmail } from '../helpers/app.js';
import { oathtool } from '../helpers/real-clients.js';
import {
  addVirtualKey,
  AheadClock,
  assertCookieAttributes,
  launchChromium,
  localhost,
  scanPng,
  setCookieAttributes,
  startApi,
  startForeignOrigin,
  waitForError,
  waitForUi,
  type RunningApi,
} from './harness.js';
import { STARTER_DIR, startBuiltSpa, type BuiltSpa } from './starter-spa-server.js';

const PASSWORD = 'correct horse battery staple';
const STEP_MS = 30_000;
const SHOTS = 'test-results/e2e-starter';

const clock = new AheadClock();
let api: RunningApi | undefined;
let apiOrigin: string;
let spa: BuiltSpa | undefined;
let foreign: { origin: string; close(): Promise<void> } | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let spaOrigin: string;
let sizes: Map<string, { bytes: number; gzip: number }>;
let typecheck: Promise<string>;
const email = uniqueEmail('starter');
const journey = { failed: false, secret: '', recoveryCodes: [] as string[], signInKey: '', sessionSetCookie: '' };
/** The SPA's own requests to the service (not the test's probes), for the CSRF audit at the end. */
const apiRequests: { method: string; path: string; csrf: boolean }[] = [];
let probing = false;

function step(name: string, fn: () => Promise<void>): void {
  it(name, async (t) => {
    if (journey.failed) return t.skip('an earlier step failed');
    try {
      await fn();
    } catch (err) {
      journey.failed = true;
      await shot(`failed-${name.replace(/\W+/g, '-').slice(0, 40)}`).catch(() => undefined);
      throw err;
    }
  });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The authenticator's code for a time step after the last one used (a code counts once). */
function nextTotp(): string {
  clock.offset += STEP_MS;
  return oathtool(journey.secret, clock.now());
}

async function signIn(remember = false): Promise<void> {
  await page.fill('#sign-in-form [name=email]', email);
  await page.fill('#sign-in-form [name=password]', PASSWORD);
  await page.setChecked('#sign-in-form [name=remember]', remember);
  await page.click('#sign-in-form button[type=submit]');
}

async function signOut(): Promise<void> {
  await page.click('#sign-out');
  await waitForUi(page, '#status', 'Signed out');
  assert.equal(await cookie('session'), undefined, 'sign-out clears the session cookie');
}

async function cookie(name: string) {
  return (await context.cookies(apiOrigin)).find((c) => c.name === name);
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

async function enterCode(form: 'code-form' | 'setup-form' | 'recovery-form', code: string): Promise<void> {
  await page.fill(`#${form} [name=code]`, code);
  await page.click(`#${form} button[type=submit]`);
}

function emailsTo(): number {
  return api!.senders.emails.filter((m) => m.to === email).length;
}

describe('the starter SPA in Chromium', () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    typecheck = promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', STARTER_DIR]).then(
      () => '',
      (e: { stdout?: string; message: string }) => e.stdout || e.message,
    );
    spa = await startBuiltSpa();
    spaOrigin = localhost(spa.origin);
    const started = await Promise.allSettled([
      startApi(
        {
          CORS_ORIGINS: spaOrigin,
          SECURITY_TWO_FACTOR_REQUIRED: 'true',
          SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
          SECURITY_WEBAUTHN: 'true',
          SECURITY_WAN_RP_ID: 'localhost',
          SECURITY_WAN_ORIGINS: spaOrigin,
          SECURITY_UNIFIED_SIGNIN: 'true',
          SECURITY_REGISTERABLE: 'true',
        },
        { clock },
      ).then((a) => (api = a)),
      launchChromium().then((b) => (browser = b)),
      startForeignOrigin().then((f) => (foreign = f)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    apiOrigin = localhost(api!.origin);
    spa.apiOrigin = apiOrigin;
    sizes = await spa.build();
    await createUser(api!.database, email, PASSWORD);
    context = await browser!.newContext({ viewport: { width: 720, height: 560 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    ({ cdp, authenticatorId } = await addVirtualKey(context, page));
    page.on('request', (r) => {
      if (probing || !r.url().startsWith(`${apiOrigin}/`)) return;
      apiRequests.push({ method: r.method(), path: new URL(r.url()).pathname, csrf: 'x-csrf-token' in r.headers() });
    });
    page.on('response', (r) => {
      if (!r.url().startsWith(`${apiOrigin}/`)) return;
      void setCookieAttributes(r, 'session').then((a) => {
        if (a && !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(a)) journey.sessionSetCookie = a;
      });
    });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([spa?.close(), foreign?.close(), api?.close()]);
  });

  it('typechecks against the client package (tsc -p examples/starter-spa) and builds with Vite', async (t) => {
    assert.equal(await typecheck, '');
    const js = [...sizes].filter(([name]) => name.endsWith('.js'));
    assert.equal(js.length, 1, 'one script bundle');
    const [name, size] = js[0]!;
    t.diagnostic(`${name}: ${size.bytes} bytes, ${size.gzip} gzipped`);
    // A budget, so a dependency pulled in by mistake shows: the client and the app are a few kB.
    assert.ok(size.gzip < 15_000, `${size.gzip} bytes gzipped`);
  });

  step('required setup at first sign-in: the QR code on screen scans to the otpauth URI', async () => {
    await page.goto(spaOrigin);
    await waitForUi(page, '#status', 'Signed out');
    await signIn();
    await waitForUi(page, '#setup-intro', 'needs a second factor');
    await page.click('#setup-methods [data-method=authenticator]');
    await waitForUi(page, '#setup-hint', 'type the code the app shows');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('qr').complete);
    await shot('01-required-setup');
    const uri = scanPng(await page.locator('#qr').screenshot());
    const otpauth = new URL(uri);
    assert.equal(otpauth.protocol, 'otpauth:');
    assert.match(decodeURIComponent(otpauth.pathname), new RegExp(email.replace(/[.+]/g, '\\$&')));
    journey.secret = otpauth.searchParams.get('secret')!;
    assert.equal(
      (await page.textContent('#manual-key'))!.replace(/-/g, ''),
      journey.secret,
      'the typed key is the scanned one',
    );
  });

  step('confirming the setup shows the recovery codes at once, then the account', async () => {
    await enterCode('setup-form', nextTotp());
    await waitForUi(page, '#view-recovery-codes', 'shown only now');
    journey.recoveryCodes = await page.locator('#recovery-code-list li').allTextContents();
    assert.equal(journey.recoveryCodes.length, 5);
    for (const c of journey.recoveryCodes) assert.match(c, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    await shot('02-recovery-codes');
    await page.click('#recovery-codes-saved');
    await waitForUi(page, '#status', `Signed in as ${email} (password + authenticator); second factor: authenticator`);
  });

  step('the session cookie is HttpOnly, SameSite=Lax and Secure, and no script can read it', async () => {
    // Cookies ignore ports: without HttpOnly the SPA's own document would see the API's session.
    const visible = await page.evaluate(() => (globalThis as any).document.cookie as string);
    const names = visible.split(/;\s*/).map((c) => c.split('=')[0]);
    assert.ok(!names.includes('session'), `document.cookie shows the session cookie (HttpOnly): ${names.join(', ')}`);
    assertCookieAttributes(journey.sessionSetCookie, 'the session cookie', 'Lax');
    const session = await cookie('session');
    assert.ok(session, 'the browser stored the session cookie (Secure is accepted on http://localhost)');
    assert.equal(session.httpOnly, true, 'session cookie: HttpOnly');
    assert.equal(session.sameSite, 'Lax', 'session cookie: SameSite=Lax');
    assert.equal(session.secure, true, 'session cookie: Secure');
    // CORS with credentials: the listed origin reads the signed-in answer; without cookies it is anonymous.
    assert.deepEqual(await fetchIn(page, `${apiOrigin}/me`, { credentials: 'include' }), {
      status: 200,
      code: undefined,
      email,
    });
    assert.deepEqual(await fetchIn(page, `${apiOrigin}/me`, { credentials: 'omit' }), {
      status: 401,
      code: 'UNAUTHENTICATED',
      email: undefined,
    });
  });

  step('a signed-in state change without the X-CSRF-Token header is refused', async () => {
    const verify = (headers: Record<string, string>) =>
      fetchIn(page, `${apiOrigin}/verify`, {
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
      await evil.goto(localhost(foreign!.origin));
      // SameSite=Lax sends the cookie here (same site), so CORS and the Origin check are what stop it.
      const read = await fetchIn(evil, `${apiOrigin}/me`, { credentials: 'include' });
      assert.match(String(read.refused), /TypeError: Failed to fetch/, 'CORS hides the answer from an unlisted origin');
      const forged = evil.waitForResponse((r) => r.url() === `${apiOrigin}/logout`);
      await fetchIn(evil, `${apiOrigin}/logout`, {
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
    assert.equal((await fetchIn(page, `${apiOrigin}/me`, { credentials: 'include' })).status, 200, 'still signed in');
  });

  step('sign out, then in with the password and a code; a wrong code shows the service error', async () => {
    await signOut();
    await signIn();
    await waitForUi(page, '#code-hint', 'authenticator app');
    assert.equal(await page.isVisible('#resend-sign-in-code'), false, 'an authenticator code is not sent');
    await enterCode('code-form', '000000');
    assert.equal((await waitForError(page)).code, 'TWO_FACTOR_INVALID_TOKEN');
    await enterCode('code-form', nextTotp());
    await waitForUi(page, '#status', '(password + authenticator)');
  });

  step('rescue with a recovery code', async () => {
    await signOut();
    await signIn();
    await waitForUi(page, '#code-hint', 'authenticator app');
    await page.click('#rescue-start');
    await page.click('#rescue-options [data-option=recovery_code]');
    await waitForUi(page, '#rescue-message', 'recovery codes');
    await shot('03-rescue');
    await enterCode('recovery-form', journey.recoveryCodes[0]!);
    await waitForUi(page, '#status', '(password + recovery_code)');
  });

  step('a remembered device skips the code until it is forgotten', async () => {
    await signOut();
    await signIn(true);
    await enterCode('code-form', nextTotp());
    await waitForUi(page, '#status', '(password + authenticator)');
    await signOut();
    await signIn(true);
    await waitForUi(page, '#status', '(password + remembered_device)');
    await page.click('#show-devices');
    await waitForUi(page, '#device-rows tr', '(this device)');
    await shot('04-remembered-devices');
    await page.click('#device-rows button[data-forget]');
    await waitForUi(page, '#no-devices', 'No remembered devices');
    await signOut();
    await signIn();
    await waitForUi(page, '#code-hint', 'authenticator app');
    await enterCode('code-form', nextTotp());
    await waitForUi(page, '#status', '(password + authenticator)');
  });

  step(
    'switching to e-mail codes: a resend inside the send gap says when to retry, after it a new code comes',
    async () => {
      await page.click('#change-setup');
      await page.click('#setup-methods [data-method=email]');
      await waitForUi(page, '#setup-hint', 'We sent a code by E-mail');
      const before = emailsTo();
      await page.click('#resend-setup-code');
      const refused = await waitForError(page);
      assert.equal(refused.code, 'RATE_LIMITED');
      assert.match(refused.message, /try again in \d+ s/);
      assert.equal(emailsTo(), before, 'nothing sent inside the gap');
      clock.offset += STEP_MS + 1000;
      const resent = page.waitForResponse(
        (r) => r.url() === `${spa!.apiOrigin}/tf-setup` && r.request().method() === 'POST',
      );
      await page.click('#resend-setup-code');
      assert.equal((await resent).status(), 200);
      assert.equal(emailsTo(), before + 1, 'a new code after the gap');
      await enterCode('setup-form', api!.senders.lastCode(email));
      // Four recovery codes are left, so the SPA goes straight back to the account.
      await waitForUi(page, '#status', 'second factor: email');
    },
  );

  step('signing in with e-mail codes: "Send a new code" sends one', async () => {
    await signOut();
    clock.offset += STEP_MS + 1000;
    await signIn();
    await waitForUi(page, '#code-hint', 'We sent a code by E-mail');
    const first = api!.senders.lastCode(email);
    clock.offset += STEP_MS + 1000;
    await page.click('#resend-sign-in-code');
    await waitForUi(page, '#code-hint', 'We sent a new code');
    const second = api!.senders.lastCode(email);
    assert.notEqual(second, first);
    await enterCode('code-form', second);
    await waitForUi(page, '#status', '(password + email)');
    await shot('05-signed-in-with-email');
  });
  step('adds a security key from the account; the browser makes it', async () => {
    await page.click('#show-keys');
    await waitForUi(page, '#no-keys', 'No security keys');
    await page.fill('#key-form [name=name]', 'USB key');
    await page.click('#key-form button[type=submit]');
    await waitForUi(page, '#key-message', 'Security key "USB key" added.');
    await waitForUi(page, '#key-rows tr[data-name="USB key"]', 'never');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the virtual authenticator holds the new credential');
    assert.equal(credentials[0]!.rpId, 'localhost');
    await shot('06-security-keys');
  });

  step('signing in with the key: chosen over the e-mail code, then one touch', async () => {
    await signOut();
    await signIn();
    await waitForUi(page, '#status', 'choose a second factor');
    assert.deepEqual(
      (
        await page.locator('#select-methods button').evaluateAll((bs) => bs.map((b) => (b as any).dataset.which))
      ).sort(),
      ['email', 'webauthn'],
    );
    await shot('07-choose-second-factor');
    await page.click('#select-methods [data-which=webauthn]');
    await waitForUi(page, '#key-hint', 'Use your security key.');
    assert.equal(await page.isVisible('#rescue-start'), true, 'rescue is offered under the key view too');
    const [before] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    await page.click('#use-key');
    await waitForUi(page, '#status', '(password + webauthn)');
    const [after] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    assert.ok(after!.signCount > before!.signCount, 'the key signed (its counter moved)');
  });

  step('removing the key: the next sign-in asks for the e-mail code again', async () => {
    await page.click('#show-keys');
    await waitForUi(page, '#key-rows tr[data-name="USB key"]', 'USB key');
    await page.click('#key-rows button[data-remove="USB key"]');
    await waitForUi(page, '#key-message', 'Security key "USB key" removed.');
    await waitForUi(page, '#no-keys', 'No security keys');
    await signOut();
    clock.offset += STEP_MS + 1000;
    await signIn();
    await waitForUi(page, '#code-hint', 'We sent a code by E-mail');
    await enterCode('code-form', api!.senders.lastCode(email));
    await waitForUi(page, '#status', '(password + email)');
  });

  step('unified sign-in: an authenticator added as a sign-in method from the account', async () => {
    await page.click('#show-sign-in-methods');
    await waitForUi(page, '#us-active li[data-method=password]', 'Password');
    await page.click('#us-add [data-add=authenticator]');
    await waitForUi(page, '#us-setup-hint', 'type the code the app shows');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('us-qr').complete);
    const otpauth = new URL(scanPng(await page.locator('#us-qr').screenshot()));
    journey.signInKey = otpauth.searchParams.get('secret')!;
    assert.equal((await page.textContent('#us-manual-key'))!.replace(/-/g, ''), journey.signInKey);
    await page.fill('#us-setup-form [name=code]', oathtool(journey.signInKey, clock.now()));
    await page.click('#us-setup-form button[type=submit]');
    await waitForUi(page, '#us-message', 'Authenticator app now signs you in.');
    await waitForUi(page, '#us-active li[data-method=authenticator]', 'Authenticator app');
    await shot('08-sign-in-methods');
  });

  step('unified sign-in: the authenticator code instead of the password', async () => {
    await signOut();
    await waitForUi(page, '#code-sign-in-hint', 'Authenticator app');
    clock.offset += STEP_MS;
    await page.fill('#code-sign-in-form [name=identity]', email);
    await page.fill('#code-sign-in-form [name=passcode]', oathtool(journey.signInKey, clock.now()));
    await page.click('#code-sign-in-form button[type=submit]');
    // Not in SECURITY_US_MFA_REQUIRED (password, email): no second factor after it.
    await waitForUi(page, '#status', `Signed in as ${email} (authenticator)`);
    await shot('09-signed-in-with-a-code');
  });

  step('unified sign-in: an e-mailed code, then the second factor; removing the method', async () => {
    await page.click('#show-sign-in-methods');
    await page.click('#us-add [data-add=email]');
    await waitForUi(page, '#us-setup-hint', 'We e-mailed you a code');
    await page.fill('#us-setup-form [name=code]', api!.senders.lastCode(email));
    await page.click('#us-setup-form button[type=submit]');
    await waitForUi(page, '#us-message', 'E-mail code now signs you in.');
    await signOut();
    clock.offset += STEP_MS + 1000; // past the e-mail send gap of the setup's code
    await page.fill('#code-sign-in-form [name=identity]', email);
    const sent = emailsTo();
    await page.click('#send-sign-in-code [data-send=email]');
    await waitForUi(page, '#code-sign-in-hint', 'We e-mailed you a code');
    assert.equal(emailsTo(), sent + 1);
    // The second factor is e-mail too: its code goes out after the send gap of the first.
    clock.offset += STEP_MS + 1000;
    await page.fill('#code-sign-in-form [name=passcode]', api!.senders.lastCode(email));
    await page.click('#code-sign-in-form button[type=submit]');
    // E-mail is in SECURITY_US_MFA_REQUIRED: the second factor follows, as after a password.
    await waitForUi(page, '#code-hint', 'We sent a code by E-mail');
    assert.equal(await page.isVisible('#resend-sign-in-code'), false, 'no resend: there is no password step to repeat');
    await enterCode('code-form', api!.senders.lastCode(email));
    await waitForUi(page, '#status', `Signed in as ${email} (email`);
    await page.click('#show-sign-in-methods');
    await page.click('#us-active button[data-remove=email]');
    await waitForUi(page, '#us-message', 'E-mail code no longer signs you in.');
    assert.equal(await page.locator('#us-active li[data-method=email]').count(), 0);
  });

  step('every change the SPA made with a signed-in session carried the CSRF token', async () => {
    await signOut();
    const signedInChanges = new Set(['/logout', '/tf-setup', '/mf-recovery-codes', '/wan-register', '/wan-delete']);
    const changes = apiRequests.filter((r) => r.method !== 'GET' && r.method !== 'OPTIONS');
    assert.ok(changes.length >= 20, `the SPA made the changes (${changes.length})`);
    const checked = changes.filter((r) => signedInChanges.has(r.path) || r.path.startsWith('/us-setup'));
    assert.ok(checked.length >= 8, `changes of a signed-in session (${checked.length})`);
    assert.deepEqual(
      checked.filter((r) => !r.csrf),
      [],
      'X-CSRF-Token on every change of a signed-in session',
    );
  });

  step('registers a new account from the page; the service asks for a second factor first', async () => {
    await page.fill('#register-form [name=email]', uniqueEmail('starter-new'));
    await page.fill('#register-form [name=password]', PASSWORD);
    await page.click('#register-form button[type=submit]');
    await waitForUi(page, '#setup-intro', 'needs a second factor');
  });
});
