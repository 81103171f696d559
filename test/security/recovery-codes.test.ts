/**
 * Threats: (1) a recovery code replaces the second factor, so it must be as
 * hard to guess as one: every guess is charged to the pending sign-in's cap
 * and the user's lockout before it is checked, atomically, even in bursts
 * (SPEC §4.2); (2) a code used once, or a burst of the same code, must sign in
 * exactly once (SPEC §4.3: consumed atomically); (3) a leaked database or log
 * must not hand out codes: only keyed hashes are stored (SPEC §5); (4) the
 * help option must not let someone holding a password flood the help desk.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createKeyedHasher } from '../../src/crypto/keyed-hash.js';
import { createTestApp, TEST_SECRETS, type TestApp } from '../helpers/app.js';
import type { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { enrolledUser, generateCodes, pendingSignIn } from '../helpers/rescue.js';
import { lockoutCounters } from '../helpers/two-factor.js';

const HELP_DESK = 'helpdesk@example.com';
/** The service's own keyed hasher, to tell which shown set the database kept. */
const hmac = createKeyedHasher(TEST_SECRETS.SECRET_KEY);

/** A well-formed code that is not one of `codes`. */
function wrongCode(codes: string[]): string {
  let n = 0;
  let guess: string;
  do guess = `0000-0000-${String(n++).padStart(4, '0')}`;
  while (codes.includes(guess));
  return guess;
}

describe(`recovery codes and help-desk abuse (${DB_KIND})`, () => {
  let t: TestApp;
  let second: TestApp;
  before(async () => {
    t = await createTestApp({ SECURITY_TWO_FACTOR_RESCUE_MAIL: HELP_DESK });
    // A second instance on the same database, as behind a load balancer.
    second = await createTestApp({ SECURITY_TWO_FACTOR_RESCUE_MAIL: HELP_DESK }, t.database);
    second.clock.set(t.clock.now());
  });
  after(async () => {
    await second.close();
    await t.close();
  });

  /**
   * Pending sign-ins on both instances, one after the other: the password
   * throttle charges concurrent sign-ins of one account and address up front,
   * and what these tests fire at once is the second step, not the password.
   */
  async function pendingSignIns(email: string, n: number): Promise<Client[]> {
    const clients: Client[] = [];
    for (let i = 0; i < n; i++) clients.push(await pendingSignIn(i % 2 ? second : t, email));
    return clients;
  }

  async function withCodes(): Promise<{ email: string; id: number; codes: string[] }> {
    const u = await enrolledUser(t, 'authenticator');
    const codes = await generateCodes(u.client);
    second.clock.set(t.clock.now());
    return { email: u.email, id: u.id, codes };
  }

  test('the database and the logs hold no recovery code in clear, only keyed hashes of the canonical form', async () => {
    const { id, codes } = await withCodes();
    const rows = await t.database.db.selectFrom('tf_recovery_codes').selectAll().where('user_id', '=', id).execute();
    assert.equal(rows.length, codes.length);
    const everything =
      JSON.stringify((await sql`select * from tf_recovery_codes`.execute(t.database.db)).rows) +
      JSON.stringify((await sql`select * from audit_events`.execute(t.database.db)).rows) +
      t.logs.join('\n');
    for (const code of codes) {
      const canonical = code.replace(/-/g, '');
      for (const form of [code, canonical, code.toUpperCase(), canonical.toUpperCase()])
        assert.ok(!everything.includes(form), `${form} is stored or logged`);
    }
    for (const row of rows) {
      assert.match(row.code_hash, /^[A-Za-z0-9_-]{43}$/, 'an HMAC-SHA256, base64url');
      assert.equal(row.used_at, null);
    }
    assert.equal(new Set(rows.map((r) => r.code_hash)).size, codes.length);
  });

  test('the same code fired five times at once, on five pending sign-ins, signs in exactly once', async () => {
    const { email, id, codes } = await withCodes();
    const clients = await pendingSignIns(email, 5);
    const results = await Promise.all(clients.map((c) => c.post('/mf-recovery', { code: codes[0]! })));
    assert.deepEqual(
      results.map((r) => r.statusCode).sort(),
      [200, 400, 400, 400, 400],
      results.map((r) => r.body).join('\n'),
    );
    for (const r of results.filter((x) => x.statusCode === 400))
      assert.equal(r.data.response.error_code, 'INVALID_RECOVERY_CODE');
    const used = await t.database.db
      .selectFrom('tf_recovery_codes')
      .select('used_at')
      .where('user_id', '=', id)
      .where('used_at', 'is not', null)
      .execute();
    assert.equal(used.length, 1);
  });

  test('the same code fired five times at once on one pending sign-in signs in exactly once', async () => {
    const { email, codes } = await withCodes();
    const c = await pendingSignIn(t, email);
    const results = await Promise.all(Array.from({ length: 5 }, () => c.post('/mf-recovery', { code: codes[1]! })));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1, results.map((r) => r.body).join('\n'));
    // Five requests are the whole budget of one pending sign-in, so the loser charged fifth may see the cap (429).
    assert.ok(
      results.every((r) => [200, 400, 429].includes(r.statusCode)),
      results.map((r) => r.body).join('\n'),
    );
  });

  test('wrong recovery codes share the pending attempt cap with /tf-validate', async () => {
    const { email, codes } = await withCodes();
    const c = await pendingSignIn(t, email);
    for (let i = 0; i < 2; i++) assert.equal((await c.post('/tf-validate', { code: '000000' })).statusCode, 400);
    for (let i = 0; i < 2; i++) {
      const res = await c.post('/mf-recovery', { code: wrongCode(codes) });
      assert.equal(res.data.response.error_code, 'INVALID_RECOVERY_CODE');
    }
    const fifth = await c.post('/mf-recovery', { code: 'not a code at all' });
    assert.equal(fifth.statusCode, 429);
    assert.equal(fifth.data.response.error_code, 'TWO_FACTOR_TOO_MANY_ATTEMPTS');
    const right = await c.post('/mf-recovery', { code: codes[0]! });
    assert.equal(right.data.response.error_code, 'TWO_FACTOR_PERMISSION_DENIED');
    assert.equal((await c.get('/me')).statusCode, 401);
    const d = await pendingSignIn(t, email);
    assert.equal(
      (await d.post('/mf-recovery', { code: codes[0]! })).statusCode,
      200,
      'a refused attempt did not burn the code',
    );
  });

  test('lockout: 10 wrong recovery codes across sessions and instances lock even a right one, without burning it', async () => {
    const { email, id, codes } = await withCodes();
    for (const app of [t, second]) {
      const c = await pendingSignIn(app, email);
      for (let i = 0; i < 4; i++)
        assert.equal((await c.post('/mf-recovery', { code: wrongCode(codes) })).statusCode, 400);
    }
    const c = await pendingSignIn(second, email);
    assert.equal((await c.post('/mf-recovery', { code: wrongCode(codes) })).statusCode, 400);
    const tenth = await c.post('/mf-recovery', { code: wrongCode(codes) });
    assert.equal(tenth.statusCode, 429);
    assert.equal(tenth.data.response.error_code, 'TWO_FACTOR_LOCKED');
    assert.equal(tenth.headers['retry-after'], '900');
    const d = await pendingSignIn(t, email);
    const locked = await d.post('/mf-recovery', { code: codes[2]! });
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.data.response.error_code, 'TWO_FACTOR_LOCKED');

    t.clock.advance(15 * 60 * 1000 + 1000);
    const e = await pendingSignIn(t, email);
    assert.equal((await e.post('/mf-recovery', { code: codes[2]! })).statusCode, 200);
    const row = await lockoutCounters(t, id);
    assert.deepEqual(
      { ...row },
      { tf_failures: 0, tf_locked_until: null, tf_lockouts: 0 },
      'success resets the counter',
    );
  });

  test('a burst of 50 wrong codes over 10 pending sign-ins never checks more than the lockout budget', async () => {
    const { email, codes } = await withCodes();
    const clients = await pendingSignIns(email, 10);
    const results = await Promise.all(
      clients.flatMap((c) => Array.from({ length: 5 }, () => c.post('/mf-recovery', { code: wrongCode(codes) }))),
    );
    const checked = results.filter((r) =>
      ['INVALID_RECOVERY_CODE', 'TWO_FACTOR_TOO_MANY_ATTEMPTS'].includes(r.data.response.error_code),
    );
    assert.ok(checked.length <= 10, `${checked.length} guesses were checked (threshold 10)`);
    assert.ok(results.some((r) => r.data.response.error_code === 'TWO_FACTOR_LOCKED'));
    assert.ok(
      results.every((r) => r.statusCode === 400 || r.statusCode === 429),
      results.map((r) => r.statusCode).join(),
    );
  });

  test("one user's code never signs in another user", async () => {
    const a = await withCodes();
    const b = await withCodes();
    const c = await pendingSignIn(t, b.email);
    const res = await c.post('/mf-recovery', { code: a.codes[0]! });
    assert.equal(res.data.response.error_code, 'INVALID_RECOVERY_CODE');
    assert.equal((await c.post('/mf-recovery', { code: b.codes[0]! })).statusCode, 200);
  });

  test('generations at once leave exactly one set of codes, the set one of them showed', async () => {
    const u = await enrolledUser(t, 'authenticator');
    const results = await Promise.all(Array.from({ length: 6 }, () => u.client.post('/mf-recovery-codes')));
    assert.ok(
      results.every((r) => r.statusCode === 200),
      results.map((r) => r.body).join('\n'),
    );
    const rows = await t.database.db
      .selectFrom('tf_recovery_codes')
      .select('code_hash')
      .where('user_id', '=', u.id)
      .execute();
    assert.equal(rows.length, 5, 'never two sets at once');
    const stored = rows.map((r) => r.code_hash).sort();
    const sets = results.map((r) => r.data.response.recovery_codes as string[]);
    const hashesOf = (set: string[]) => set.map((code) => hmac.hash('recovery-code', code.replace(/-/g, ''))).sort();
    const winners = sets.filter((set) => JSON.stringify(hashesOf(set)) === JSON.stringify(stored));
    assert.equal(winners.length, 1, 'the stored hashes are exactly one shown set');
    const loser = sets.find((set) => set !== winners[0])!;
    const c = await pendingSignIn(t, u.email);
    assert.equal((await c.post('/mf-recovery', { code: loser[0] })).data.response.error_code, 'INVALID_RECOVERY_CODE');
    assert.equal((await c.post('/mf-recovery', { code: winners[0]![0] })).statusCode, 200);
  });

  test('a burst of help requests from many pending sign-ins of one user mails the help desk once', async () => {
    const u = await enrolledUser(t, 'authenticator');
    second.clock.set(t.clock.now());
    const before =
      t.senders.emails.filter((m) => m.to === HELP_DESK).length +
      second.senders.emails.filter((m) => m.to === HELP_DESK).length;
    const clients = await pendingSignIns(u.email, 5);
    const results = await Promise.all(
      clients.flatMap((c) => Array.from({ length: 4 }, () => c.post('/tf-rescue', { help_setup: 'help' }))),
    );
    const notices = [...t.senders.emails, ...second.senders.emails].filter(
      (m) => m.to === HELP_DESK && m.text.includes(u.email),
    );
    assert.equal(notices.length, 1);
    assert.equal(
      t.senders.emails.filter((m) => m.to === HELP_DESK).length +
        second.senders.emails.filter((m) => m.to === HELP_DESK).length,
      before + 1,
    );
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    assert.ok(
      results.every(
        (r) =>
          r.statusCode === 200 ||
          (r.statusCode === 429 &&
            r.data.response.error_code === 'RATE_LIMITED' &&
            Number(r.headers['retry-after']) > 0),
      ),
    );
  });

  test("one user's help requests never use up another user's", async () => {
    const a = await enrolledUser(t, 'authenticator');
    const b = await enrolledUser(t, 'authenticator');
    assert.equal((await (await pendingSignIn(t, a.email)).post('/tf-rescue', { help_setup: 'help' })).statusCode, 200);
    assert.equal((await (await pendingSignIn(t, b.email)).post('/tf-rescue', { help_setup: 'help' })).statusCode, 200);
  });
});
