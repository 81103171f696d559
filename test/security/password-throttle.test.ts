/*
 * Threat: online password guessing — many passwords against one account from
 * one address (also as a concurrent burst, to slip past a read-then-write
 * counter), one password against many accounts from one address (spraying),
 * using the throttle to learn which e-mails have accounts, and using wrong
 * passwords to lock the real owner out. SPEC §4.2: a growing delay per
 * (account, IP), counted apart from the second factor's lockout; the owner from
 * another address is never affected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pruneThrottles } from '../../src/auth/password-throttle.repository.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { lockoutCounters } from '../helpers/two-factor.js';

const PASSWORD = 'correct horse battery';
let ipCounter = 0;
const freshIp = (): string => `198.51.100.${++ipCounter}`;

describe(`password throttling per account and address (${DB_KIND})`, () => {
  let t: TestApp;
  const client = (ip: string) => {
    const c = new Client(() => t.app);
    c.headers['x-forwarded-for'] = ip;
    return c;
  };
  const auditCount = async (type: string, reason?: string) => {
    const rows = await t.database.db
      .selectFrom('audit_events')
      .select(['type', 'details'])
      .where('type', '=', type)
      .execute();
    return rows.filter((r) => reason === undefined || (r.details as { reason?: string }).reason === reason).length;
  };
  before(async () => {
    t = await createTestApp({ TRUST_PROXY: 'true' });
  });
  after(() => t.close());

  test('5 wrong passwords → 429 with Retry-After; even the right one waits; another address signs in', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, PASSWORD);
    const ip = freshIp();
    const c = client(ip);
    for (let i = 1; i <= 4; i++) {
      const res = await c.login(email, `wrong ${i}`);
      assert.equal(res.statusCode, 400);
      assert.equal(res.data.response.error_code, 'GENERIC_AUTHN_FAILED');
    }
    const fifth = await c.login(email, 'wrong 5');
    assert.equal(fifth.statusCode, 429);
    assert.equal(fifth.data.response.error_code, 'RATE_LIMITED');
    assert.equal(fifth.headers['retry-after'], '60');
    assert.equal(fifth.headers['cache-control'], 'no-store');

    const right = await c.login(email, PASSWORD);
    assert.equal(right.statusCode, 429, 'the right password is not even checked while the pair waits');
    assert.equal(right.headers['retry-after'], '60');

    const owner = await client(freshIp()).login(email, PASSWORD);
    assert.equal(owner.statusCode, 200, 'the owner elsewhere is not locked out');

    t.clock.advance(30_000);
    assert.equal((await c.login(email, PASSWORD)).headers['retry-after'], '30');
    t.clock.advance(30_000);
    assert.equal((await c.login(email, PASSWORD)).statusCode, 200, 'the delay is over');
    // A success starts the pair over: four more typos are plain failures again.
    await client(ip).post('/logout');
    for (let i = 1; i <= 4; i++) assert.equal((await client(ip).login(email, `typo ${i}`)).statusCode, 400);
  });

  test('the delay doubles with each further failure, up to one hour', async () => {
    const email = uniqueEmail();
    const c = client(freshIp());
    for (let i = 1; i <= 4; i++) await c.login(email, 'guess');
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await c.login(email, 'guess');
      assert.equal(res.statusCode, 429);
      const wait = Number(res.headers['retry-after']);
      seen.push(String(wait));
      t.clock.advance(wait * 1000);
    }
    assert.deepEqual(seen, ['60', '120', '240', '480', '960', '1920', '3600', '3600', '3600']);
  });

  test('a concurrent burst of 30 wrong passwords for one pair is counted exactly', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, PASSWORD);
    const c = client(freshIp());
    const before = await auditCount('signin.failure', 'credentials');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => c.login(email, `burst ${i}`)));
    const codes = answers.map((r) => r.data.response.error_code);
    assert.equal(codes.filter((k) => k === 'GENERIC_AUTHN_FAILED').length, 4);
    assert.equal(codes.filter((k) => k === 'RATE_LIMITED').length, 26);
    // Exactly 5 passwords were checked; the other 25 were refused before hashing.
    assert.equal((await auditCount('signin.failure', 'credentials')) - before, 5);
    const throttled = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('type', '=', 'signin.failure')
      .where('user_id', '=', user.id)
      .execute();
    assert.equal(throttled.filter((r) => (r.details as { reason?: string }).reason === 'throttled').length, 25);
    const rows = await t.database.db
      .selectFrom('password_throttle')
      .selectAll()
      .where('scope', '=', 'pair')
      .where('failures', '=', 5)
      .execute();
    assert.ok(rows.length >= 1);
  });

  test('unknown e-mails are throttled exactly like real ones (no enumeration)', async () => {
    const real = uniqueEmail();
    await createUser(t.database, real, PASSWORD);
    const ghost = uniqueEmail('ghost');
    const answer = async (email: string, ip: string) => {
      const out: unknown[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await client(ip).login(email, `nope ${i}`);
        out.push([r.statusCode, r.headers['retry-after'] ?? null, r.body]);
      }
      return out;
    };
    assert.deepEqual(await answer(ghost, freshIp()), await answer(real, freshIp()));
  });

  test('e-mail case and spacing do not give a fresh budget', async () => {
    const email = uniqueEmail();
    const c = client(freshIp());
    for (const variant of [
      email,
      email.toUpperCase(),
      ` ${email}`,
      email,
      email.replace(/^./, (ch) => ch.toUpperCase()),
    ]) {
      await c.login(variant, 'guess');
    }
    assert.equal((await c.login(email, 'guess')).statusCode, 429);
  });

  test('a wrong password never touches the second-factor lockout columns', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, PASSWORD);
    const c = client(freshIp());
    for (let i = 0; i < 12; i++) await c.login(email, `wrong ${i}`);
    const row = await lockoutCounters(t, user.id);
    assert.deepEqual(row, { tf_failures: 0, tf_locked_until: null, tf_lockouts: 0 });
  });

  test('spraying: 50 failures from one address across accounts slow that address for every account', async () => {
    const ip = freshIp();
    const email = uniqueEmail();
    await createUser(t.database, email, PASSWORD);
    const answers = [];
    for (let i = 0; i < 50; i++) answers.push(await client(ip).login(uniqueEmail('spray'), 'Summer2026!'));
    assert.ok(answers.slice(0, 49).every((r) => r.statusCode === 400));
    assert.equal(answers[49]!.statusCode, 429);
    assert.equal(answers[49]!.headers['retry-after'], '60');
    assert.equal(
      (await client(ip).login(email, PASSWORD)).statusCode,
      429,
      'the sprayer learns nothing, even with a right password',
    );
    assert.equal((await client(freshIp()).login(email, PASSWORD)).statusCode, 200, 'other addresses are unaffected');
    assert.ok((await auditCount('signin.throttled')) >= 1);
  });

  test('successful sign-ins do not use up an address budget (many people behind one NAT)', async () => {
    const ip = freshIp();
    const email = uniqueEmail();
    await createUser(t.database, email, PASSWORD);
    for (let i = 0; i < 55; i++) {
      const res = await client(ip).login(email, PASSWORD);
      assert.equal(res.statusCode, 200, `sign-in ${i + 1}`);
    }
    for (let i = 0; i < 4; i++) assert.equal((await client(ip).login(uniqueEmail('typo'), 'x')).statusCode, 400);
  });

  test('/verify shares the budget: a stolen session is not a password oracle', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, PASSWORD);
    const c = client(freshIp());
    assert.equal((await c.login(email, PASSWORD)).statusCode, 200);
    for (let i = 1; i <= 4; i++) {
      const res = await c.post('/verify', { password: `wrong ${i}` });
      assert.equal(res.statusCode, 400);
      assert.equal(res.data.response.error_code, 'INVALID_PASSWORD');
    }
    const fifth = await c.post('/verify', { password: 'wrong 5' });
    assert.equal(fifth.statusCode, 429);
    assert.equal((await c.post('/verify', { password: PASSWORD })).statusCode, 429);
    t.clock.advance(60_000);
    assert.equal((await c.post('/verify', { password: PASSWORD })).statusCode, 200);
  });

  test('forgotten failures are pruned, and a quiet quarter hour forgives typos', async () => {
    const email = uniqueEmail();
    const c = client(freshIp());
    for (let i = 0; i < 4; i++) await c.login(email, 'typo');
    t.clock.advance(15 * 60_000);
    for (let i = 0; i < 4; i++) assert.equal((await c.login(email, 'typo')).statusCode, 400, 'a fresh streak');
    const count = async () =>
      Number(
        (
          await t.database.db
            .selectFrom('password_throttle')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.ok((await count()) > 0);
    await pruneThrottles(t.database.db, new Date(t.clock.now().getTime() + 2 * 3600_000));
    assert.equal(await count(), 0);
  });
});
