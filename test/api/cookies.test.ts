import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';

/** Cookie attributes over a real socket (SPEC §2), where inject() could hide what a browser sees. */
describe(`session cookie over a real listener (${DB_KIND})`, () => {
  let t: TestApp;
  let email: string;
  before(async () => {
    t = await createTestApp();
    email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
  });
  after(() => t.close());

  async function signIn(): Promise<{ base: string; cookie: string; csrf: string }> {
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'password-1' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { response: { csrf_token: string } };
    return { base, cookie: res.headers.get('set-cookie') ?? '', csrf: body.response.csrf_token };
  }

  test('default: HttpOnly, SameSite=Lax, Secure, Path=/, and it works on the next request', async () => {
    const { base, cookie } = await signIn();
    assert.match(cookie, /^session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Secure/i);
    assert.match(cookie, /Path=\//);
    const me = await fetch(`${base}/me`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(me.status, 200);
    await t.rebuild();
  });

  test('SESSION_COOKIE_SECURE=false drops Secure; SameSite=strict is honoured', async () => {
    await t.rebuild({ SESSION_COOKIE_SECURE: 'false', SESSION_COOKIE_SAMESITE: 'strict' });
    const { cookie } = await signIn();
    assert.doesNotMatch(cookie, /Secure/i);
    assert.match(cookie, /SameSite=Strict/i);
    await t.rebuild();
  });

  test('SameSite=none forces Secure', async () => {
    await t.rebuild({ SESSION_COOKIE_SAMESITE: 'none' });
    const { cookie } = await signIn();
    assert.match(cookie, /SameSite=None/i);
    assert.match(cookie, /Secure/i);
    await t.rebuild();
  });

  test('logout clears the cookie in the browser', async () => {
    const { base, cookie, csrf } = await signIn();
    const out = await fetch(`${base}/logout`, {
      method: 'POST',
      headers: { cookie: cookie.split(';')[0]!, 'x-csrf-token': csrf },
    });
    assert.equal(out.status, 200);
    const cleared = out.headers.get('set-cookie') ?? '';
    assert.match(cleared, /^session=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/i);
    await t.rebuild();
  });
});
