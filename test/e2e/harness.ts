import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type CDPSession,
  type Page,
  type Response,
} from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { systemClock, type Clock } from '../../src/clock.js';
import type { Database } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { testConfig } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/db.js';
import { RecordingSenders } from '../helpers/senders.js';
import { harvestSecrets, suiteLogged } from '../helpers/suite-log.js';

export interface RunningApi {
  origin: string;
  app: FastifyInstance;
  senders: RecordingSenders;
  logs: string[];
  /** The service's database, for creating users as an administrator would (test/helpers/app.ts createUser). */
  database: Database;
  close(): Promise<void>;
}

/**
 * The service on a real port with the real clock: the browser's cookies,
 * CORS and TOTP codes all run on wall time, like a deployment. Codes are
 * read back from recording senders.
 */
export async function startApi(env: Record<string, string>, options: { clock?: Clock } = {}): Promise<RunningApi> {
  const database = await createTestDatabase();
  const senders = new RecordingSenders();
  const logs: string[] = [];
  const logger = createLogger(
    'warn',
    suiteLogged((line) => void logs.push(line)),
  );
  const clock = options.clock ?? systemClock;
  const app = await buildApp({ config: testConfig(env), database, logger, clock, senders });
  harvestSecrets(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    app,
    senders,
    logs,
    database,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/** A blank page on yet another port of the same site: the origin an attacker's page would have. */
export async function startForeignOrigin(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Debian's Chromium (LIBS.md): nothing is downloaded; no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Reads a PNG the way a phone camera would. */
export function scanPng(png: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'qr-e2e-'));
  try {
    const file = join(dir, 'qr.png');
    writeFileSync(file, png);
    // zbarimg prints D-Bus noise on stderr in containers; only stdout matters.
    return execFileSync('zbarimg', ['--raw', '-q', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).replace(/\n$/, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Waits until `selector` is visible (and contains `text`, if given); if the
 * SPA shows errors from the API instead, fails at once with those messages.
 */
export async function waitForUi(page: Page, selector: string, text = '', timeout = 15_000): Promise<void> {
  const handle = await page.waitForFunction(
    // Runs in the page; the root tsconfig has no DOM types, hence the untyped document.
    ([sel, want]) => {
      const doc = (globalThis as any).document;
      const errors = doc.getElementById('errors');
      if (errors && !errors.hidden && errors.textContent.trim()) return { error: errors.innerText.trim() };
      const el = doc.querySelector(sel);
      return el && el.checkVisibility() && el.textContent.includes(want) ? { error: null } : false;
    },
    [selector, text],
    { timeout },
  );
  const { error } = (await handle.jsonValue()) as { error: string | null };
  if (error) throw new Error(`the SPA shows an error instead of ${selector}${text ? ` with "${text}"` : ''}: ${error}`);
}

/** Waits for the SPA to show an error from the envelope; returns its stable key and message. */
export async function waitForError(page: Page): Promise<{ code: string | undefined; message: string }> {
  const li = page.locator('#errors li').first();
  await li.waitFor({ state: 'visible' });
  return { code: (await li.getAttribute('data-code')) ?? undefined, message: (await li.textContent()) ?? '' };
}

/**
 * The attributes of a Set-Cookie the browser received (the value left out).
 * Checked as sent because Playwright reports a cookie without SameSite as 'Lax'
 * (Chromium's default), so the jar alone would not notice a dropped attribute.
 */
export async function setCookieAttributes(res: Response, name: string): Promise<string> {
  const lines = (await res.headersArray())
    .filter((h) => h.name.toLowerCase() === 'set-cookie')
    .flatMap((h) => h.value.split('\n'));
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line?.includes(';') ? line.slice(line.indexOf(';')) : '';
}

export function assertCookieAttributes(attributes: string, name: string, sameSite: 'Lax' | 'Strict'): void {
  const wanted: [string, RegExp][] = [
    ['HttpOnly', /;\s*HttpOnly(;|$)/i],
    [`SameSite=${sameSite}`, new RegExp(`;\\s*SameSite=${sameSite}(;|$)`, 'i')],
    ['Secure', /;\s*Secure(;|$)/i],
    ['Path=/', /;\s*Path=\/(;|$)/i],
  ];
  for (const [label, re] of wanted) assert.match(attributes, re, `${name} must be sent with ${label}`);
}

/**
 * A USB security key for the page: Chromium's virtual authenticator (DevTools'
 * WebAuthn domain over CDP), which makes real attestations and assertions for
 * the service to verify; user presence and verification are given without a touch.
 */
export async function addVirtualKey(
  context: BrowserContext,
  page: Page,
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: false,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/** localhost for 127.0.0.1: WebAuthn needs a secure context and an RP id that is a domain, which an IP address is not. */
export const localhost = (origin: string): string => origin.replace('127.0.0.1', 'localhost');

/**
 * Wall time plus an offset a test moves forward: the service's clock runs ahead on
 * demand (a send gap, a new TOTP step) instead of the test sleeping. The browser's
 * own clock stays wall time, which only cookie lifetimes (days) depend on.
 */
export class AheadClock implements Clock {
  offset = 0;
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
}
