/**
 * Threat: the in-process session cache (docs/architecture.md, Session cache)
 * serves a session the database no longer backs: signed out on another
 * instance, its user deactivated, their password or roles changed by the CLI
 * or by hand in SQL. Each change must evict the session on every instance when
 * it commits; an instance must never serve a session after it answered the
 * request that ended it; a lost change feed must turn the cache off.
 *
 * Two apps on one database stand for two instances (they share the pool, as
 * instances share Postgres); changes from outside the service come through a
 * connection of their own (Postgres) and are timed.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { grantRole } from '../../src/users/users.repository.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND, TEST_DATABASE_URL } from '../helpers/db.js';
import { signedIn } from '../helpers/two-factor.js';

describe(`session cache: every change evicts, on every instance (${DB_KIND})`, () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    // A long max age: anything evicted here was evicted by a notice, not by age.
    a = await createTestApp({ SESSION_CACHE_MAX_AGE: '60' });
    b = await createTestApp({ SESSION_CACHE_MAX_AGE: '60' }, a.database, { clock: a.clock });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  /** Statements the request sent to the database (0: served from the cache). */
  async function meStatements(c: Client): Promise<{ status: number; statements: number; roles?: string[] }> {
    const before = a.database.stats.queries;
    const res = await c.get('/me');
    return { status: res.statusCode, statements: a.database.stats.queries - before, roles: res.data.response?.roles };
  }

  /** Until a repeated GET /me by `c` sends nothing: its session is cached (once the feed is live). */
  async function warm(c: Client): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await meStatements(c);
      assert.equal(r.status, 200);
      if (r.statements === 0) return;
      await sleep(20);
    }
    assert.fail('GET /me never came from the cache');
  }

  /** Signed in on A, its session cached there. */
  async function cachedOnA(email: string): Promise<Client> {
    const c = await signedIn(a, email, 'password-1');
    await warm(c);
    return c;
  }

  /** The same browser talking to another instance. */
  const on = (t: TestApp, c: Client) => {
    const other = new Client(() => t.app);
    other.cookies = c.cookies;
    other.csrf = c.csrf;
    return other;
  };

  test('a session read once is served from memory: the repeated GET /me sends no statement', async () => {
    const email = uniqueEmail('cache');
    await createUser(a.database, email, 'password-1');
    const c = await cachedOnA(email);
    for (let i = 0; i < 5; i++) assert.deepEqual(await meStatements(c), { status: 200, statements: 0, roles: [] });
  });

  test('signed out on B, the session cached on A is 401 on A at once', async () => {
    const email = uniqueEmail('cache-out');
    await createUser(a.database, email, 'password-1');
    const c = await cachedOnA(email);
    const cookie = c.cookies.get('session')!;
    assert.equal((await on(b, c).post('/logout')).statusCode, 200);
    const stale = new Client(() => a.app);
    stale.cookies.set('session', cookie);
    assert.equal((await stale.get('/me')).statusCode, 401, 'A does not serve the signed-out session from memory');
  });

  test('the same instance never serves a session after it answered its sign-out', async () => {
    const email = uniqueEmail('cache-self');
    await createUser(a.database, email, 'password-1');
    const c = await cachedOnA(email);
    const cookie = c.cookies.get('session')!;
    // The sign-out and a burst of requests with the old cookie, all at once: none after the answer may pass.
    const stale = () => {
      const s = new Client(() => a.app);
      s.cookies.set('session', cookie);
      return s.get('/me');
    };
    const out = c.post('/logout');
    const during = Array.from({ length: 20 }, stale);
    assert.equal((await out).statusCode, 200);
    await Promise.all(during);
    const afterwards = await Promise.all(Array.from({ length: 20 }, stale));
    assert.deepEqual(
      afterwards.map((r) => r.statusCode),
      Array(20).fill(401),
    );
  });

  test("the user's changes through the service's own connections evict at once: role, deactivation", async () => {
    const email = uniqueEmail('cache-user');
    const user = await createUser(a.database, email, 'password-1');
    const c = await cachedOnA(email);
    await grantRole(b.database.db, user.id, 'auditor');
    assert.deepEqual((await c.get('/me')).data.response.roles, ['auditor']);
    await b.database.db.updateTable('users').set({ active: false }).where('id', '=', user.id).execute();
    assert.equal((await c.get('/me')).statusCode, 401);
  });

  test(
    'a change inside a transaction evicts when it commits: a lookup sent before the commit does not keep the old row',
    { skip: TEST_DATABASE_URL ? false : 'PGlite has one connection: no lookup runs beside a transaction' },
    async () => {
      await cachedOnA(await createUser(a.database, uniqueEmail('cache-live'), 'password-1').then((u) => u.email));
      const email = uniqueEmail('cache-tx');
      const user = await createUser(a.database, email, 'password-1');
      const c = await signedIn(a, email, 'password-1');
      await b.database.db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ active: false }).where('id', '=', user.id).execute();
        // Not committed: other connections still read the user active, and A caches what it read.
        assert.equal((await c.get('/me')).statusCode, 200);
        assert.deepEqual(
          await meStatements(c),
          { status: 200, statements: 0, roles: [] },
          'cached during the transaction',
        );
      });
      assert.equal((await c.get('/me')).statusCode, 401, 'the commit evicted what was read before it');
    },
  );

  test(
    "the pool's connections do not LISTEN: a change wakes one listener per instance, not every connection",
    { skip: TEST_DATABASE_URL ? false : 'PGlite has one connection and no pool' },
    async () => {
      const listening = await Promise.all(
        Array.from({ length: 5 }, () =>
          a.database.db.connection().execute(async (conn) => {
            const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_listening_channels()`.execute(
              conn,
            );
            return rows[0]!.n;
          }),
        ),
      );
      assert.deepEqual(listening, [0, 0, 0, 0, 0]);
    },
  );

  test(
    'changes by SQL on a connection of its own (an operator, the CLI, another instance) evict within milliseconds',
    { skip: TEST_DATABASE_URL ? false : 'PGlite has one connection, the service’s own (tested above)' },
    async (t) => {
      const email = uniqueEmail('cache-sql');
      const user = await createUser(a.database, email, 'password-1');
      const c = await cachedOnA(email);
      const outside = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schemaOf(a)}` });
      await outside.connect();
      try {
        const until = async (what: string, done: () => Promise<boolean>): Promise<number> => {
          const start = performance.now();
          while (!(await done())) {
            assert.ok(performance.now() - start < 2000, `${what}: still served from memory after 2 s`);
            await sleep(1);
          }
          const ms = performance.now() - start;
          t.diagnostic(
            `${what}: no longer served from memory ${ms.toFixed(1)} ms after the commit (GET /me polled every ~1 ms)`,
          );
          return ms;
        };
        await outside.query(`insert into roles (name) values ('ops') on conflict do nothing`);
        await outside.query(`insert into roles_users (user_id, role_id) select $1, id from roles where name = 'ops'`, [
          user.id,
        ]);
        await until('role granted', async () => (await c.get('/me')).data.response.roles?.includes('ops'));
        await warm(c);
        await outside.query('update users set fs_uniquifier = md5(random()::text) where id = $1', [user.id]);
        await until('password reset (fs_uniquifier)', async () => (await c.get('/me')).statusCode === 401);
      } finally {
        await outside.end();
      }
    },
  );

  test(
    'a lost change feed turns the cache off until it is back',
    { skip: TEST_DATABASE_URL ? false : 'PGlite has no connection to lose' },
    async () => {
      const email = uniqueEmail('cache-lost');
      await createUser(a.database, email, 'password-1');
      const c = await cachedOnA(email);
      // The listener is named by process and schema: other files of this process may still hold their apps' own.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(a.database.db);
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      try {
        const { rowCount } = await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
          [`tfa-cache-listener/${process.pid}/${rows[0]!.schema}`],
        );
        assert.equal(rowCount, 1, 'one listener per database connection pool');
        let lookedUp = false;
        for (let i = 0; i < 100 && !lookedUp; i++) {
          lookedUp = (await meStatements(c)).statements > 0;
          if (!lookedUp) await sleep(10);
        }
        assert.ok(lookedUp, 'without the feed, GET /me reads the database');
        // The listener reconnects within a second or two; then the cache serves again.
        await warm(c);
      } finally {
        await admin.end();
      }
    },
  );
});

function schemaOf(t: TestApp): string {
  return (t.database as { schema?: string }).schema!;
}
