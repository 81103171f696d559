/**
 * GET /openapi.yaml serves the committed document byte for byte, and GET /docs
 * is a reference page that a browser renders from this origin alone: Chromium
 * loads it with every request recorded, and none may leave the service
 * (no CDN, no web fonts, no logo), nor may the page break its own CSP.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { DOCUMENT_PATH } from '../helpers/openapi-contract.js';

describe(`the contract served by the service (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('GET /openapi.yaml is the committed file, as YAML', async () => {
    const res = await t.app.inject('/openapi.yaml');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/yaml/);
    assert.equal(res.body, readFileSync(DOCUMENT_PATH, 'utf8'));
  });

  test('GET /docs loads the Redoc bundle from this origin, under a CSP that allows no other', async () => {
    const page = await t.app.inject('/docs');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<script src="docs\/redoc\.standalone\.js"><\/script>/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no absolute URL in the page');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self';/);
    const script = await t.app.inject('/docs/redoc.standalone.js');
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.ok(script.body.length > 500_000, 'the whole standalone bundle');
  });

  test('Chromium renders /docs without a single request to another origin', async () => {
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const elsewhere: string[] = [];
      const problems: string[] = [];
      // Every request the page makes is seen here; other origins are recorded and refused.
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      page.on('console', (m) => {
        if (m.type() === 'error' && !/cdn\.redoc\.ly/.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${base}/docs`, { waitUntil: 'networkidle' });
      await page.getByRole('heading', { name: 'Submit the second-factor code' }).waitFor({ timeout: 30_000 });
      // The Redocly logo is the one outside URL in the bundle; the CSP blocks it before any request.
      assert.deepEqual(elsewhere, [], 'no request left the origin');
      // Its refusal is the one console error allowed.
      assert.deepEqual(problems, [], 'no script error or CSP violation');
    } finally {
      await browser.close();
    }
  });
});
