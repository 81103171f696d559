/**
 * Threat: session fixation. An attacker who planted or learnt a session id
 * before a privilege change (first factor, second factor, password change)
 * must hold nothing after it: the id rotates and the old row is gone (SPEC §2).
 * The store writes the rotated session once (the old row is deleted by the
 * statement that writes the new one), so these tests check the rows directly,
 * including the request that rotates and then sets nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { FixedClock } from '../../src/clock.js';
import { createKeyedHasher } from '../../src/crypto/keyed-hash.js';
import { registerSessions, rotateSession } from '../../src/http/session.js';
import { testConfig } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { createTestDatabase, DB_KIND } from '../helpers/db.js';

describe(`session rotation (${DB_KIND})`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: FastifyInstance;
  const config = testConfig({ SESSION_COOKIE_SECURE: 'false' });

  before(async () => {
    database = await createTestDatabase();
    app = Fastify();
    await registerSessions(app, {
      config,
      db: database.db,
      clock: new FixedClock(new Date()),
      hmac: createKeyedHasher(config.SECRET_KEY),
      changes: database.changes,
    });
    app.post('/start', async (request) => {
      request.session.marker = 'before';
      return {};
    });
    app.post('/rotate', async (request) => {
      await rotateSession(request);
      request.session.marker = 'after';
      return { sawOld: request.session.marker };
    });
    app.post('/rotate-twice', async (request) => {
      await rotateSession(request);
      await rotateSession(request);
      request.session.marker = 'twice';
      return {};
    });
    app.post('/rotate-only', async (request) => {
      await rotateSession(request);
      return {};
    });
    app.get('/marker', async (request) => ({ marker: request.session.marker ?? null }));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await database.close();
  });

  async function rows(): Promise<number> {
    const r = await database.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async function started(): Promise<{ c: Client; old: string }> {
    const c = new Client(() => app);
    await c.post('/start');
    const old = c.cookies.get('session');
    assert.ok(old);
    return { c, old };
  }

  test('a rotation gives a new id, an empty session, and deletes the old row', async () => {
    const before = await rows();
    const { c, old } = await started();
    assert.equal(await rows(), before + 1);
    await c.post('/rotate');
    assert.notEqual(c.cookies.get('session'), old);
    assert.equal((await c.get('/marker')).json().marker, 'after');
    assert.equal(await rows(), before + 1, 'the old row went with the new one');
    const attacker = new Client(() => app);
    attacker.cookies.set('session', old);
    assert.equal((await attacker.get('/marker')).json().marker, null, 'the old id holds nothing');
  });

  test('two rotations in one request still delete the row the request came with', async () => {
    const before = await rows();
    const { c, old } = await started();
    await c.post('/rotate-twice');
    assert.equal(await rows(), before + 1);
    const attacker = new Client(() => app);
    attacker.cookies.set('session', old);
    assert.equal((await attacker.get('/marker')).json().marker, null);
  });

  test('a rotation followed by nothing to save still deletes the old row, and hands out no cookie', async () => {
    const before = await rows();
    const { c, old } = await started();
    const res = await c.post('/rotate-only');
    assert.equal(res.statusCode, 200);
    assert.equal(await rows(), before, 'the old row is gone and no new one was written');
    assert.equal(c.cookies.get('session'), undefined, 'the old cookie is cleared');
    const attacker = new Client(() => app);
    attacker.cookies.set('session', old);
    assert.equal((await attacker.get('/marker')).json().marker, null);
  });
});
