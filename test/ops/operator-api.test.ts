/**
 * The operator API (README, "Operator API").
 *
 * Threats: an operator endpoint answered without a valid operator token (or a
 * token guessed a character at a time from answer timings: the unit test in
 * test/unit/operator-tokens.test.ts); an action nobody can trace to the
 * operator who took it; a "reset" after a lost phone that leaves the thief's
 * live session, token or remembered device working; a listing or a view that
 * leaks what protects an account (TOTP secret, hashes, recovery codes, phone,
 * fs_uniquifier); paging that skips or repeats audit rows while new ones are
 * written, so an investigation misses an event; introspection that calls a
 * forged, expired or garbage token active.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { createOperatorApp, OPERATOR, OPERATOR_ENV, type OperatorApp } from '../helpers/operator.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolledUser, generateCodes } from '../helpers/rescue.js';
import { signedIn, STEP_MS } from '../helpers/two-factor.js';

const PASSWORD = 'password-1';

describe(`operator API (${DB_KIND})`, () => {
  let t: TestApp;
  let op: OperatorApp;
  before(async () => {
    t = await createTestApp({
      ...OPERATOR_ENV,
      SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: '3',
      // Remembered devices exist only when a device may skip the second factor.
      SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
    });
    op = await createOperatorApp(t);
  });
  afterEach(() => op.contract.assertNoViolations());
  after(async () => {
    await op.close();
    await t.close();
  });

  const path = (email: string, action = '') => `/admin/users/${encodeURIComponent(email)}${action}`;

  /** The audit rows of one type for a user, newest last. */
  async function auditRows(type: string, userId: number | null) {
    let q = t.database.db.selectFrom('audit_events').select(['type', 'details', 'user_id']).where('type', '=', type);
    q = userId === null ? q.where('user_id', 'is', null) : q.where('user_id', '=', userId);
    return q.orderBy('id').execute();
  }

  /** A remembered device: sign in with remember: true and the second factor; the client keeps tf_validity. */
  async function rememberedClient(email: string, key: string): Promise<Client> {
    const c = new Client(() => t.app);
    await c.login(email, PASSWORD, { remember: true });
    const ok = await c.post('/tf-validate', { code: oathtool(key, t.clock.now()) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.match(String(ok.headers['set-cookie']), /tf_validity=/);
    t.clock.advance(STEP_MS);
    await c.post('/logout');
    return c;
  }

  test('no token, a wrong token, a token of another length or scheme: 401 in the envelope on every operation', async () => {
    const refusals: Array<[string, Record<string, string>]> = [
      ['none', {}],
      ['wrong', { authorization: `Bearer ${OPERATOR.alice.slice(0, -1)}${OPERATOR.alice.endsWith('A') ? 'B' : 'A'}` }],
      ['too short', { authorization: `Bearer ${OPERATOR.alice.slice(0, 10)}` }],
      ['too long', { authorization: `Bearer ${OPERATOR.alice}x` }],
      ['empty', { authorization: 'Bearer ' }],
      ['basic', { authorization: `Basic ${Buffer.from(`alice:${OPERATOR.alice}`).toString('base64')}` }],
      ['a user token header', { 'authentication-token': OPERATOR.alice }],
    ];
    const operations: Array<[string, string]> = [
      ['GET', '/admin/users'],
      ['POST', '/admin/users'],
      ['GET', '/admin/users/1'],
      ['POST', '/admin/users/1/reset-2fa'],
      ['POST', '/admin/users/1/unlock'],
      ['POST', '/admin/users/1/deactivate'],
      ['POST', '/admin/users/1/reactivate'],
      ['GET', '/admin/audit'],
      ['POST', '/introspect'],
    ];
    const before = await t.database.db.selectFrom('audit_events').select('id').execute();
    for (const [what, headers] of refusals)
      for (const [method, url] of operations) {
        const res = await op.app.inject({
          method: method as 'GET',
          url,
          headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          ...(method === 'POST' ? { payload: '{"reason":"x","token":"y"}' } : {}),
        });
        assert.equal(res.statusCode, 401, `${what}: ${method} ${url}`);
        assert.equal(JSON.parse(res.body).response.error_code, 'UNAUTHENTICATED');
        assert.match(String(res.headers['www-authenticate']), /^Bearer /);
      }
    // Unknown paths are the same 404 with or without a token (the operations are documented anyway).
    assert.equal((await op.call('GET', '/nope', undefined, null)).statusCode, 404);
    const afterRefusals = await t.database.db.selectFrom('audit_events').select('id').execute();
    assert.equal(afterRefusals.length, before.length, 'a refused call changes nothing');
    assert.equal((await op.call('GET', '/admin/users', undefined, OPERATOR.bob)).statusCode, 200);
  });

  test('every action is audited with the name of the token that took it', async () => {
    const email = uniqueEmail('audited');
    const created = await op.call(
      'POST',
      '/admin/users',
      { email, password: PASSWORD, roles: ['admin'] },
      OPERATOR.bob,
    );
    assert.equal(created.statusCode, 201, created.body);
    const id = created.data.response.user.id as number;
    assert.equal((await signedIn(t, email, PASSWORD)).csrf !== undefined, true, 'the new user signs in at once');
    for (const [method, action, body] of [
      ['GET', '', undefined],
      ['POST', '/unlock', undefined],
      ['POST', '/deactivate', undefined],
      ['POST', '/reactivate', undefined],
      ['POST', '/reset-2fa', { reason: 'lost phone; identity checked on a video call' }],
    ] as const)
      assert.equal((await op.call(method, path(email, action), body, OPERATOR.bob)).statusCode, 200, action);
    assert.equal((await op.call('GET', '/admin/users', undefined, OPERATOR.bob)).statusCode, 200);
    assert.equal((await op.call('GET', `/admin/audit?user=${id}`, undefined, OPERATOR.bob)).statusCode, 200);
    for (const type of [
      'user.created',
      'operator.user_viewed',
      'user.unlocked',
      'user.deactivated',
      'user.reactivated',
      'user.reset_2fa',
      'operator.audit_read',
    ]) {
      const rows = await auditRows(type, id);
      assert.equal(rows.length, 1, type);
      assert.equal(rows[0]!.details.operator, 'bob.on-call', type);
    }
    assert.deepEqual((await auditRows('user.created', id))[0]!.details.roles, ['admin']);
    const reset = (await auditRows('user.reset_2fa', id))[0]!;
    assert.equal(reset.details.reason, 'lost phone; identity checked on a video call');
    const listed = await auditRows('operator.users_listed', null);
    assert.ok(listed.some((r) => r.details.operator === 'bob.on-call'));
  });

  test('a reset needs a reason, and ends live sessions, tokens and remembered devices at once', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const device = await rememberedClient(u.email, u.key!);
    // The remembered device skips the second factor; its sign-in also takes a token for a backend.
    const viaDevice = await device.login(u.email, PASSWORD, {}, '?include_auth_token');
    const token = viaDevice.data.response.user.authentication_token as string;
    assert.ok(token, viaDevice.body);
    assert.equal((await op.call('POST', '/introspect', { token })).data.active, true);
    assert.equal((await u.client.get('/me')).statusCode, 200);

    for (const body of [{}, { reason: '   ' }, { reason: 7 }, { reason: 'x'.repeat(501) }]) {
      const refused = await op.call('POST', path(u.email, '/reset-2fa'), body);
      assert.equal(refused.statusCode, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(refused.data.response.field_errors), ['reason']);
    }
    assert.equal((await u.client.get('/me')).statusCode, 200, 'a refused reset changed nothing');

    const reset = await op.call('POST', path(u.email, '/reset-2fa'), { reason: 'lost phone' });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.equal(reset.data.response.user.method, null);
    assert.equal((await u.client.get('/me')).statusCode, 401, 'the session cookie is dead');
    assert.equal((await device.get('/me')).statusCode, 401, 'and the remembered device’s session');
    const rows = await t.database.db.selectFrom('tf_devices').select('id').where('user_id', '=', u.id).execute();
    assert.deepEqual(rows, [], 'remembered devices are deleted');
    const introspected = await op.call('POST', '/introspect', { token });
    assert.deepEqual(introspected.data, { active: false }, 'tokens issued before the reset are dead');
    const shown = await op.call('GET', path(u.email));
    assert.deepEqual(shown.data.response.user.second_factor.remembered_devices, []);
    // Signing in again needs the password only: no second factor is left to pass.
    assert.equal((await device.login(u.email, PASSWORD)).data.response.tf_required, false);
  });

  test('a lockout shows, and an unlock ends it: the right code works again at once', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = new Client(() => t.app);
    await c.login(u.email, PASSWORD);
    let last;
    for (let i = 0; i < 3; i++) last = await c.post('/tf-validate', { code: '000000' });
    assert.equal(last!.data.response.error_code, 'TWO_FACTOR_LOCKED');
    const locked = (await op.call('GET', path(u.email))).data.response.user;
    assert.equal(locked.lockout.locked, true);
    assert.equal(locked.lockout.lockouts, 1);
    assert.ok(Date.parse(locked.lockout.locked_until) > t.clock.now().getTime());

    const d = new Client(() => t.app);
    await d.login(u.email, PASSWORD);
    const refused = await d.post('/tf-validate', { code: oathtool(u.key!, t.clock.now()) });
    assert.equal(refused.data.response.error_code, 'TWO_FACTOR_LOCKED', 'locked: even the right code is refused');

    const unlocked = await op.call('POST', path(u.email, '/unlock'));
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    assert.equal(unlocked.data.response.was_locked, true);
    assert.equal((await op.call('GET', path(u.email))).data.response.user.lockout.locked, false);
    const e = new Client(() => t.app);
    await e.login(u.email, PASSWORD);
    t.clock.advance(STEP_MS);
    assert.equal((await e.post('/tf-validate', { code: oathtool(u.key!, t.clock.now()) })).statusCode, 200);
    assert.equal((await op.call('POST', path(u.email, '/unlock'))).data.response.was_locked, false);
  });

  test('deactivate ends sessions and refuses sign-in; reactivate lets the user sign in again', async () => {
    const email = uniqueEmail('deactivated');
    await createUser(t.database, email, PASSWORD);
    const c = await signedIn(t, email, PASSWORD);
    assert.equal((await op.call('POST', path(email, '/deactivate'))).data.response.user.active, false);
    assert.equal((await c.get('/me')).statusCode, 401);
    assert.equal((await new Client(() => t.app).login(email, PASSWORD)).data.response.error_code, 'DISABLED_ACCOUNT');
    assert.equal((await op.call('POST', path(email, '/reactivate'))).data.response.user.active, true);
    assert.equal((await new Client(() => t.app).login(email, PASSWORD)).statusCode, 200);
  });

  test('show and the listing never carry a secret, hash, code, phone number or fs_uniquifier', async () => {
    const a = await enrolledUser(t, 'authenticator');
    const codes = await generateCodes(a.client);
    const s = await enrolledUser(t, 'sms');
    await rememberedClient(a.email, a.key!);
    const secrets: string[] = [a.key!, ...codes, s.phone!, s.phone!.slice(1), s.phone!.slice(-6)];
    for (const id of [a.id, s.id]) {
      const row = await t.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      secrets.push(row.password, row.fs_uniquifier);
      if (row.tf_totp_secret) secrets.push(row.tf_totp_secret);
      if (row.tf_phone_number) secrets.push(row.tf_phone_number);
    }
    const hashes = await t.database.db.selectFrom('tf_recovery_codes').select('code_hash').execute();
    const devices = await t.database.db.selectFrom('tf_devices').select('token_hash').execute();
    secrets.push(...hashes.map((h) => h.code_hash), ...devices.map((d) => d.token_hash));

    const shownA = await op.call('GET', path(a.email));
    const shownS = await op.call('GET', path(String(s.id)));
    assert.equal(shownA.data.response.user.second_factor.method, 'authenticator');
    assert.equal(shownA.data.response.user.second_factor.recovery_codes_left, codes.length);
    assert.equal(shownA.data.response.user.second_factor.remembered_devices.length, 1);
    assert.deepEqual(shownA.data.response.user.second_factor.keys, []);
    assert.equal(
      shownS.data.response.user.second_factor.phone,
      `+${'*'.repeat(s.phone!.length - 3)}${s.phone!.slice(-2)}`,
    );
    assert.ok(shownA.data.response.user.last_sign_in?.at, 'the last sign-in is shown');
    const pages: string[] = [];
    let cursor = '';
    do {
      const page = await op.call('GET', `/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.statusCode, 200, page.body);
      pages.push(page.body);
      cursor = page.data.response.next_cursor ?? '';
    } while (cursor);
    const everything = [shownA.body, shownS.body, ...pages].join('\n');
    assert.ok(everything.includes(a.email) && everything.includes(s.email));
    for (const secret of secrets) assert.ok(!everything.includes(secret), `leaked ${secret.slice(0, 8)}…`);
    assert.doesNotMatch(everything, /password|secret|fs_uniquifier|hash/i);
  });

  test('unknown users, bad cursors and limits are clear 4xx answers', async () => {
    for (const ref of ['999999', 'nobody@example.com', '99999999999', '0', 'x'.repeat(300)]) {
      const res = await op.call('GET', path(ref));
      assert.equal(res.statusCode, 404, ref);
      assert.equal(res.data.response.error_code, 'USER_NOT_FOUND');
    }
    for (const url of [
      '/admin/users?cursor=abc',
      '/admin/users?cursor=-1',
      '/admin/users?limit=0',
      '/admin/users?limit=201',
      '/admin/users?limit=ten',
      '/admin/audit?since=yesterday',
      '/admin/audit?until=2026-13-45',
      '/admin/audit?cursor=1e9',
      '/admin/audit?type=a&type=b',
    ]) {
      const res = await op.call('GET', url);
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    }
    assert.equal((await op.call('GET', '/admin/audit?user=nobody@example.com')).statusCode, 404);
    const dup = uniqueEmail('dup');
    assert.equal((await op.call('POST', '/admin/users', { email: dup, password: PASSWORD })).statusCode, 201);
    const again = await op.call('POST', '/admin/users', { email: dup.toUpperCase(), password: PASSWORD });
    assert.equal(again.data.response.error_code, 'EMAIL_ALREADY_ASSOCIATED');
    for (const body of [
      { email: 'no-at', password: PASSWORD },
      { email: uniqueEmail(), password: 'short' },
      { email: uniqueEmail(), password: PASSWORD, roles: 'admin' },
    ])
      assert.equal((await op.call('POST', '/admin/users', body)).statusCode, 400, JSON.stringify(body));
  });

  test('audit paging with a cursor returns every row exactly once while new rows are written', async () => {
    const email = uniqueEmail('paged');
    const user = await createUser(t.database, email, PASSWORD);
    const writeSome = async (n: number) => {
      for (let i = 0; i < n; i++)
        await t.database.db
          .insertInto('audit_events')
          .values({
            user_id: user.id,
            type: 'signin.failure',
            at: t.clock.now(),
            ip: null,
            user_agent: null,
            details: JSON.stringify({ n: i }),
          })
          .execute();
    };
    await writeSome(23);
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    for (;;) {
      const page = await op.call(
        'GET',
        `/admin/audit?user=${user.id}&type=signin.failure&limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(page.statusCode, 200, page.body);
      const events = page.data.response.events as Array<{ id: string; user_id: number; type: string }>;
      if (events.length === 0) break;
      seen.push(...events.map((e) => e.id));
      for (const e of events) assert.deepEqual([e.user_id, e.type], [user.id, 'signin.failure']);
      cursor = page.data.response.next_cursor;
      // Writers keep going while the operator pages (concurrently with the next page too).
      if (++pages < 6) await Promise.all([writeSome(2), op.call('GET', '/admin/audit?limit=1')]);
    }
    const all = await t.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('user_id', '=', user.id)
      .where('type', '=', 'signin.failure')
      .orderBy('id')
      .execute();
    assert.equal(all.length, 23 + 2 * 5);
    assert.deepEqual(
      seen,
      all.map((r) => String(r.id)),
      'every row once, in order',
    );
    // A poll from the last cursor returns nothing new, and then exactly what was written since.
    assert.deepEqual(
      (await op.call('GET', `/admin/audit?user=${user.id}&cursor=${cursor}&type=signin.failure`)).data.response.events,
      [],
    );
    await writeSome(1);
    const polled = await op.call('GET', `/admin/audit?user=${user.id}&cursor=${cursor}&type=signin.failure`);
    assert.equal(polled.data.response.events.length, 1);
  });

  test('the audit trail filters by user, type and time', async () => {
    const email = uniqueEmail('filtered');
    const user = await createUser(t.database, email, PASSWORD);
    await signedIn(t, email, PASSWORD);
    const start = t.clock.now().toISOString();
    t.clock.advance(60_000);
    await signedIn(t, email, PASSWORD);
    const byUser = (await op.call('GET', `/admin/audit?user=${encodeURIComponent(email)}&type=signin.success`)).data
      .response.events;
    assert.equal(byUser.length, 2);
    const since = (
      await op.call('GET', `/admin/audit?user=${user.id}&type=signin.success&since=${t.clock.now().toISOString()}`)
    ).data.response.events;
    assert.equal(since.length, 1);
    const until = (
      await op.call('GET', `/admin/audit?user=${user.id}&type=signin.success&until=${encodeURIComponent(start)}`)
    ).data.response.events;
    assert.equal(until.length, 0, 'until is exclusive and both sign-ins are at or after start');
  });
});

describe(`token introspection (${DB_KIND})`, () => {
  let t: TestApp;
  let op: OperatorApp;
  before(async () => {
    t = await createTestApp(OPERATOR_ENV);
    op = await createOperatorApp(t);
  });
  afterEach(() => op.contract.assertNoViolations());
  after(async () => {
    await op.close();
    await t.close();
  });

  async function tokenOf(email: string): Promise<string> {
    const login = await new Client(() => t.app).login(email, PASSWORD, {}, '?include_auth_token');
    return login.data.response.user.authentication_token as string;
  }

  test('an active token: sub, username, iat, exp, amr, as RFC 7662 says (form or JSON)', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const c = new Client(() => t.app);
    await c.login(u.email, PASSWORD, {}, '?include_auth_token');
    const done = await c.post('/tf-validate?include_auth_token', { code: oathtool(u.key!, t.clock.now()) });
    const token = done.data.response.user.authentication_token as string;
    const json = await op.call('POST', '/introspect', { token });
    assert.equal(json.statusCode, 200, json.body);
    const iat = Math.floor(t.clock.now().getTime() / 1000);
    assert.deepEqual(json.data, {
      active: true,
      sub: String(u.id),
      username: u.email,
      token_type: 'Authentication-Token',
      iat,
      exp: iat + t.config.SECURITY_TOKEN_MAX_AGE,
      amr: ['password', 'authenticator'],
    });
    const form = await op.app.inject({
      method: 'POST',
      url: '/introspect',
      headers: { authorization: `Bearer ${OPERATOR.alice}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    assert.deepEqual(JSON.parse(form.body), json.data);
  });

  test('expired, forged, garbage, deactivated: active false, and nothing else', async () => {
    const email = uniqueEmail('intro');
    const user = await createUser(t.database, email, PASSWORD);
    const token = await tokenOf(email);
    const [payload, sig] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const longer = Buffer.from(JSON.stringify({ ...claims, e: claims.e + 86400 * 365 })).toString('base64url');
    const other = Buffer.from(JSON.stringify({ ...claims, u: user.id + 1 })).toString('base64url');
    const inactive = [
      `${payload}.${sig.slice(0, -2)}AA`,
      `${longer}.${sig}`,
      `${other}.${sig}`,
      `${payload}.`,
      'garbage',
      '.',
      'a.b.c',
      `${Buffer.from('{"u":1e21,"i":1,"e":9999999999}').toString('base64url')}.${sig}`,
      'x'.repeat(5000),
      '\u0000',
    ];
    for (const forged of inactive) {
      const res = await op.call('POST', '/introspect', { token: forged });
      assert.equal(res.statusCode, 200, forged.slice(0, 30));
      assert.deepEqual(res.data, { active: false }, forged.slice(0, 30));
    }
    assert.equal((await op.call('POST', '/introspect', { token })).data.active, true);
    t.clock.advance(t.config.SECURITY_TOKEN_MAX_AGE * 1000 + 1000);
    assert.deepEqual((await op.call('POST', '/introspect', { token })).data, { active: false }, 'expired');
    const fresh = await tokenOf(email);
    assert.equal((await op.call('POST', '/introspect', { token: fresh })).data.active, true);
    assert.equal((await op.call('POST', `/admin/users/${user.id}/deactivate`)).statusCode, 200);
    assert.deepEqual((await op.call('POST', '/introspect', { token: fresh })).data, { active: false }, 'deactivated');
  });

  test('signed out: the tokens that sign-in issued are active false at once (revoked, README "Tokens")', async () => {
    const email = uniqueEmail('intro-out');
    await createUser(t.database, email, PASSWORD);
    const c = new Client(() => t.app);
    const login = await c.login(email, PASSWORD, {}, '?include_auth_token');
    const token = login.data.response.user.authentication_token as string;
    const other = await tokenOf(email);
    assert.equal((await op.call('POST', '/introspect', { token })).data.active, true);
    assert.equal((await c.post('/logout', {})).statusCode, 200);
    assert.deepEqual((await op.call('POST', '/introspect', { token })).data, { active: false }, 'revoked by sign-out');
    assert.equal(
      (await op.call('POST', '/introspect', { token: other })).data.active,
      true,
      'another sign-in lives on',
    );
  });

  test('no token field is a 400; a non-string one too; no operator token is 401', async () => {
    for (const body of [{}, { token: '' }, { token: 5 }, { token: ['a'] }]) {
      const res = await op.call('POST', '/introspect', body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(res.data.response.field_errors), ['token']);
    }
    assert.equal((await op.call('POST', '/introspect', { token: 'x' }, null)).statusCode, 401);
  });

  test('the operator endpoints are not on the public port, whatever token is sent', async () => {
    const headers = { authorization: `Bearer ${OPERATOR.alice}`, 'content-type': 'application/json' };
    for (const [method, url] of [
      ['GET', '/admin/users'],
      ['GET', '/admin/users/1'],
      ['POST', '/admin/users/1/reset-2fa'],
      ['GET', '/admin/audit'],
      ['POST', '/introspect'],
    ] as const) {
      const res = await t.app.inject({
        method,
        url,
        headers,
        ...(method === 'POST' ? { payload: '{"token":"x"}' } : {}),
      });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
    }
  });
});
