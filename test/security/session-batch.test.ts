/**
 * Session lookups are batched (session-store.ts): every session asked for in
 * one event-loop round goes out as one statement. Threats: a batch handing a
 * request somebody else's session, a duplicate of one session sharing a
 * mutable object with its twin, or a signed-out / voided session surviving
 * because it was read in a crowd. Every request must get exactly what a lone
 * lookup would have given it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { KyselySessionStore, lookupSize, type LoadedSession } from '../../src/db/session-store.js';
import { signedIn } from '../helpers/two-factor.js';

describe(`batched session lookups (${DB_KIND})`, () => {
  let t: TestApp;
  const users: Array<{ email: string; client: Client }> = [];
  before(async () => {
    t = await createTestApp();
    for (let i = 0; i < 12; i++) {
      const email = uniqueEmail(`batch${i}`);
      await createUser(t.database, email, 'password-1');
      users.push({ email, client: await signedIn(t, email, 'password-1') });
    }
  });
  after(() => t.close());

  // GET /login answers the signed-in user from the session alone; GET /me also reads the user's roles and policy (one statement each).
  test('a burst of GET /login from many sessions (three at once on each) answers each with its own user, in few statements', async () => {
    const before = t.database.stats.queries;
    const burst = users
      .flatMap((u) => [u, u, u])
      .map(async (u) => ({ email: u.email, res: await u.client.get('/login') }));
    const answers = await Promise.all(burst);
    const statements = t.database.stats.queries - before;
    for (const { email, res } of answers) {
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.data.response.user.email, email);
    }
    assert.ok(statements < answers.length / 4, `${statements} statements for ${answers.length} requests`);
  });

  test('in a burst, a signed-out session and a deactivated user are refused while the others pass', async () => {
    const [out, deactivated, ...rest] = users.slice(0, 6);
    const stolenCookie = out!.client.cookies.get('session')!;
    assert.equal((await out!.client.post('/logout')).statusCode, 200);
    await t.database.db.updateTable('users').set({ active: false }).where('email', '=', deactivated!.email).execute();

    const thief = new Client(() => t.app);
    thief.cookies.set('session', stolenCookie);
    const [stolen, inactive, ...others] = await Promise.all([
      thief.get('/me'),
      deactivated!.client.get('/me'),
      ...rest.map((u) => u.client.get('/me')),
    ]);
    assert.equal(stolen.statusCode, 401, 'the signed-out session is gone');
    assert.equal(inactive.statusCode, 401, 'the deactivated user is out');
    others.forEach((res, i) => assert.equal(res.data.response.user.email, rest[i]!.email));
  });

  test('two lookups of one session in the same batch get their own objects', async () => {
    const store = new KyselySessionStore(t.database.db, {
      hashId: (id) => `test-${id}`,
      clock: t.clock,
    });
    const get = (id: string) =>
      new Promise<LoadedSession | null>((resolve, reject) =>
        store.get(id, (err, loaded) => (err ? reject(err as Error) : resolve(loaded))),
      );
    const expires = new Date(t.clock.now().getTime() + 3_600_000);
    await store.write('twin', { json: JSON.stringify({ authnMethods: ['password'] }), userId: null, expires });
    const before = t.database.stats.queries;
    const [a, b, none] = await Promise.all([get('twin'), get('twin'), get('nobody')]);
    assert.equal(t.database.stats.queries - before, 1, 'one statement for the three lookups');
    assert.equal(none, null);
    a!.data.authnMethods!.push('tf');
    assert.deepEqual(b!.data.authnMethods, ['password'], "the twin saw its sibling's change");
    assert.equal(b!.json, a!.json, 'both were read as the same row');
  });

  // A batch goes out as `in ($1, …, $n)`, n a power of two, the list padded by repeating an id (session-store.ts).
  test('batches of every size up to a padded list answer each lookup with its own row, and padding adds none', async () => {
    assert.deepEqual([1, 2, 3, 4, 5, 8, 9, 200, 256].map(lookupSize), [1, 2, 4, 4, 8, 8, 16, 256, 256]);
    const store = new KyselySessionStore(t.database.db, { hashId: (id) => `pad-${id}`, clock: t.clock });
    const get = (id: string) =>
      new Promise<LoadedSession | null>((resolve, reject) =>
        store.get(id, (err, loaded) => (err ? reject(err as Error) : resolve(loaded))),
      );
    const expires = new Date(t.clock.now().getTime() + 3_600_000);
    for (let i = 0; i < 9; i++) {
      await store.write(`s${i}`, { json: JSON.stringify({ n: i }), userId: null, expires });
    }
    for (let size = 1; size <= 9; size++) {
      // The last of each batch is unknown: a padded list (its first id repeated) must not hand it a row.
      const ids = [...Array.from({ length: size - 1 }, (_, i) => `s${i}`), 'unknown'];
      const before = t.database.stats.queries;
      const loaded = await Promise.all(ids.map(get));
      assert.equal(t.database.stats.queries - before, 1, `one statement for a batch of ${size}`);
      loaded.slice(0, -1).forEach((l, i) => assert.equal(l?.data.n, i, `lookup ${i} of a batch of ${size}`));
      assert.equal(loaded.at(-1), null, `the unknown id of a batch of ${size}`);
    }
  });
});
