/**
 * The session cache's bookkeeping (src/db/session-cache.ts). The threat: a
 * session served from memory after the database changed it (signed out,
 * user deactivated, roles revoked). Each case is a way the cache could keep
 * or put back a stale row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionCache, type CachedSession } from '../../src/db/session-cache.js';

type Row = { v: string };
const MAX_AGE = 5000;
const T0 = 1_000_000;

function cache(maxEntries = 100): SessionCache<Row> {
  const c = new SessionCache<Row>({ maxAgeMs: MAX_AGE, maxEntries });
  c.enable();
  return c;
}
const found = (id: string, userId: number | null, v = id, expiresAt = T0 + 3_600_000) =>
  [id, { row: { v }, userId, expiresAt }] as [string, CachedSession<Row>];

function read(c: SessionCache<Row>, ids: Array<[string, number | null]>, at = T0): void {
  const flight = c.begin(
    ids.map(([id]) => id),
    at,
  );
  c.end(
    flight,
    ids.map(([id, user]) => found(id, user)),
  );
}

test('a row read is served until max age from when its lookup was sent, then read again', () => {
  const c = cache();
  read(c, [['a', 1]]);
  assert.deepEqual(c.lookup('a', T0 + MAX_AGE - 1), { v: 'a' });
  assert.equal(c.lookup('a', T0 + MAX_AGE), undefined);
  assert.equal(c.size, 0, 'the stale entry is dropped');
});

test("never past the session row's own expiry", () => {
  const c = cache();
  const flight = c.begin(['a'], T0);
  c.end(flight, [found('a', 1, 'a', T0 + 100)]);
  assert.ok(c.lookup('a', T0 + 99));
  assert.equal(c.lookup('a', T0 + 100), undefined);
});

test('s: evicts those sessions; u: every session of those users; * and unknown payloads everything', () => {
  const c = cache();
  read(c, [
    ['a', 1],
    ['b', 1],
    ['c', 2],
    ['d', null],
  ]);
  c.invalidate('s:a,d');
  assert.equal(c.lookup('a', T0), undefined);
  assert.equal(c.lookup('d', T0), undefined);
  assert.ok(c.lookup('b', T0));
  read(c, [['a', 1]]);
  c.invalidate('u:1');
  assert.equal(c.lookup('a', T0), undefined);
  assert.equal(c.lookup('b', T0), undefined);
  assert.ok(c.lookup('c', T0), "another user's session stays");
  c.invalidate('*');
  assert.equal(c.size, 0);
  read(c, [['c', 2]]);
  c.invalidate('u:not-a-number');
  assert.equal(c.size, 0, 'an unreadable notice clears, it does not guess');
  read(c, [['c', 2]]);
  c.invalidate('something new');
  assert.equal(c.size, 0);
});

test('a notice that arrives while a lookup is in flight keeps that lookup from putting what it read', () => {
  const c = cache();
  const bySession = c.begin(['a', 'b'], T0);
  c.invalidate('s:a');
  c.end(bySession, [found('a', 1), found('b', 2)]);
  assert.equal(c.lookup('a', T0), undefined, 'the row may predate the change');
  assert.ok(c.lookup('b', T0), 'the rest of the batch is kept');

  const byUser = c.begin(['x', 'y'], T0);
  c.invalidate('u:7');
  c.end(byUser, [found('x', 7), found('y', 8)]);
  assert.equal(c.lookup('x', T0), undefined);
  assert.ok(c.lookup('y', T0));

  const all = c.begin(['p'], T0);
  c.invalidate('*');
  c.end(all, [found('p', 1)]);
  assert.equal(c.lookup('p', T0), undefined);
});

test('a lost feed drops everything and spoils lookups in flight; nothing is kept until it is live again', () => {
  const c = cache();
  read(c, [['a', 1]]);
  const flight = c.begin(['b'], T0);
  c.disable();
  assert.equal(c.size, 0);
  c.end(flight, [found('b', 2)]);
  assert.equal(c.lookup('b', T0), undefined);
  read(c, [['c', 3]]);
  assert.equal(c.size, 0, 'not while lost');
  const during = c.begin(['d'], T0);
  c.enable();
  c.end(during, [found('d', 4)]);
  assert.equal(c.lookup('d', T0), undefined, 'a lookup sent while lost may have missed a notice');
  read(c, [['e', 5]]);
  assert.ok(c.lookup('e', T0));
});

test('bounded: beyond maxEntries the oldest goes, and the user index follows', () => {
  const c = cache(3);
  read(c, [
    ['a', 1],
    ['b', 1],
    ['c', 2],
  ]);
  read(c, [['d', 3]]);
  assert.equal(c.size, 3);
  assert.equal(c.lookup('a', T0), undefined);
  c.invalidate('u:1');
  assert.equal(c.size, 2, 'b went with its user; a was already gone');
});

test('max age 0 is off: nothing is served', () => {
  const c = new SessionCache<Row>({ maxAgeMs: 0, maxEntries: 10 });
  c.enable();
  read(c, [['a', 1]]);
  assert.equal(c.lookup('a', T0), undefined);
  assert.equal(c.enabled, false);
});
