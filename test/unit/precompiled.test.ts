/**
 * Statements compiled once and run with new values (src/db/precompiled.ts).
 *
 * Threats: a template that keeps the first call's values (every later call
 * acts on the first user); a value mistaken for a constant or the reverse;
 * two shapes sharing one template (an `in` list of the wrong length, the
 * wrong branch).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../src/db/database.js';
import { precompiled } from '../../src/db/precompiled.js';
import { createTestDatabase, DB_KIND } from '../helpers/db.js';
import { createUser, uniqueEmail } from '../helpers/app.js';

const PASSWORD = 'a long password here';

describe(`precompiled statements (${DB_KIND})`, () => {
  let database: Database & { schema: string };
  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.close());

  const ONE = { key: 'one' };

  const setFailures = precompiled((db, v: { id: number; failures: number }) =>
    db
      .updateTable('users')
      .set({ tf_failures: v.failures, tf_lockouts: 3 })
      .where('id', '=', v.id)
      .returning(['id', 'tf_failures', 'tf_lockouts']),
  );

  test("each call runs with its own values; the builder's constants stay", async () => {
    const a = await createUser(database, uniqueEmail('pre-a'), PASSWORD);
    const b = await createUser(database, uniqueEmail('pre-b'), PASSWORD);
    assert.deepEqual(await setFailures(database.db, { id: a.id, failures: 2 }, ONE), [
      { id: a.id, tf_failures: 2, tf_lockouts: 3 },
    ]);
    assert.deepEqual(await setFailures(database.db, { id: b.id, failures: 7 }, ONE), [
      { id: b.id, tf_failures: 7, tf_lockouts: 3 },
    ]);
    const rows = await database.db
      .selectFrom('users')
      .select(['id', 'tf_failures'])
      .where('id', 'in', [a.id, b.id])
      .orderBy('id')
      .execute();
    assert.deepEqual(rows, [
      { id: a.id, tf_failures: 2 },
      { id: b.id, tf_failures: 7 },
    ]);
    // A missing value is NULL, never the previous call's.
    await assert.rejects(setFailures(database.db, { id: a.id } as never, ONE), /null/i);
  });

  test('one template per shape: the length of an `in` list comes from the shape', async () => {
    const users = await Promise.all([1, 2, 3].map((i) => createUser(database, uniqueEmail(`pre-in-${i}`), PASSWORD)));
    const ids = users.map((u) => u.id).sort((x, y) => x - y);
    const find = precompiled((db, _v: object, shape: { key: string; ids: number[] }) =>
      db.selectFrom('users').select('id').where('id', 'in', shape.ids).orderBy('id'),
    );
    const run = async (list: number[]) =>
      (await find(database.db, {}, { key: list.join(), ids: list })).map((r) => r.id);
    assert.deepEqual(await run(ids.slice(0, 1)), ids.slice(0, 1));
    assert.deepEqual(await run(ids), ids);
    assert.deepEqual(await run(ids.slice(1)), ids.slice(1));
  });
});
