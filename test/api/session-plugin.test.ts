/**
 * The sessions plugin (src/http/session.ts): a session is written only when
 * its data changed, a forged or unknown cookie gets nothing and is cleared,
 * a change in a refused request is written once, and the rows @fastify/session
 * wrote before this plugin still load (a deployment upgrades with its users
 * signed in, remembered ones staying remembered).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Signer } from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { FixedClock } from '../../src/clock.js';
import { createKeyedHasher } from '../../src/crypto/keyed-hash.js';
import { AppError } from '../../src/errors.js';
import { registerErrorHandling } from '../../src/http/errors-plugin.js';
import { registerSessions } from '../../src/http/session.js';
import { testConfig } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { createTestDatabase, DB_KIND } from '../helpers/db.js';

describe(`sessions plugin (${DB_KIND})`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: FastifyInstance;
  const config = testConfig({ SESSION_COOKIE_SECURE: 'false' });
  const hmac = createKeyedHasher(config.SECRET_KEY);
  const clock = new FixedClock(new Date('2026-12-06T12:00:00Z'));

  before(async () => {
    database = await createTestDatabase();
    app = Fastify();
    registerErrorHandling(app);
    await registerSessions(app, { config, db: database.db, clock, hmac, changes: database.changes });
    app.post('/set', async (request) => {
      request.session.marker = (request.body as { marker: string }).marker;
      return {};
    });
    app.post('/set-then-refuse', async (request) => {
      request.session.marker = 'refused';
      throw new AppError('INVALID_PASSWORD');
    });
    app.get('/marker', async (request) => ({ marker: request.session.marker ?? null }));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await database.close();
  });

  async function row(id: string) {
    return database.db
      .selectFrom('sessions')
      .select(['data', 'expires_at'])
      .where('id_hash', '=', hmac.memoized('session-id')(id))
      .executeTakeFirst();
  }

  test('a request that only reads its session writes nothing and sets no cookie', async () => {
    const c = new Client(() => app);
    const set = await c.post('/set', { marker: 'a' });
    assert.match(String(set.headers['set-cookie']), /^session=/);
    const statements = database.stats.queries;
    for (let i = 0; i < 3; i++) {
      const res = await c.get('/marker');
      assert.equal(res.json().marker, 'a');
      assert.equal(res.headers['set-cookie'], undefined);
    }
    assert.ok(database.stats.queries - statements <= 3, 'no more than the lookups');
    // Setting the same value again is no change either.
    const same = await c.post('/set', { marker: 'a' });
    assert.equal(same.headers['set-cookie'], undefined);
  });

  test('a request without a cookie that sets nothing gets no session and no cookie', async () => {
    const statements = database.stats.queries;
    const res = await new Client(() => app).get('/marker');
    assert.equal(res.json().marker, null);
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(database.stats.queries, statements, 'not a statement');
  });

  test('a forged, unknown or malformed cookie gets an empty session and is cleared', async () => {
    const c = new Client(() => app);
    await c.post('/set', { marker: 'mine' });
    const good = c.cookies.get('session')!;
    const id = good.slice(0, good.lastIndexOf('.'));
    const unknownSigned = new Signer(hmac.hash('session-cookie-signer', config.SECRET_KEY), 'sha256').sign(
      'x'.repeat(32),
    );
    for (const bad of [`${id}.${'A'.repeat(43)}`, id, `${good}=`, unknownSigned, '%%%', '.']) {
      const res = await app.inject({ method: 'GET', url: '/marker', headers: { cookie: `session=${bad}` } });
      assert.equal(res.json().marker, null, bad);
      assert.match(String(res.headers['set-cookie']), /^session=;.*Expires=Thu, 01 Jan 1970/i, bad);
    }
  });

  test("a refused request's session change is written once, and its cookie set", async () => {
    const c = new Client(() => app);
    const res = await c.post('/set-then-refuse');
    assert.equal(res.statusCode, 400);
    assert.match(String(res.headers['set-cookie']), /^session=/);
    assert.equal((await c.get('/marker')).json().marker, 'refused');
  });

  test('rows written by @fastify/session still load; a remembered one stays remembered when it changes', async () => {
    // The shape @fastify/session stored: its Cookie's JSON next to the data.
    const id = randomBytes(24).toString('base64url');
    const maxAge = 30 * 86400 * 1000;
    const oldData = {
      cookie: {
        originalMaxAge: maxAge,
        expires: new Date(clock.now().getTime() + maxAge).toISOString(),
        secure: false,
        httpOnly: true,
        domain: null,
        path: '/',
        sameSite: 'lax',
      },
      marker: 'from before',
    };
    await database.db
      .insertInto('sessions')
      .values({
        id_hash: hmac.memoized('session-id')(id),
        user_id: null,
        data: JSON.stringify(oldData),
        expires_at: new Date(clock.now().getTime() + maxAge),
      })
      .execute();
    // A cookie as @fastify/cookie's Signer made it.
    const cookie = new Signer(hmac.hash('session-cookie-signer', config.SECRET_KEY), 'sha256').sign(id);
    const c = new Client(() => app);
    c.cookies.set('session', cookie);
    const read = await c.get('/marker');
    assert.equal(read.json().marker, 'from before');
    assert.equal(read.headers['set-cookie'], undefined, 'loading is not a change');

    clock.advance(86400 * 1000);
    try {
      const changed = await c.post('/set', { marker: 'after' });
      const setCookie = String(changed.headers['set-cookie']);
      assert.ok(setCookie.startsWith(`session=${cookie};`), 'the same cookie, not a new id');
      const expires = new Date(/Expires=([^;]+)/i.exec(setCookie)![1]!);
      const days = (expires.getTime() - clock.now().getTime()) / 86400000;
      assert.ok(days > 29.99 && days <= 30, `a remembered session is extended from its write: ${days} days`);
      const stored = await row(id);
      assert.ok(
        Math.abs(stored!.expires_at.getTime() - expires.getTime()) < 1000,
        'the row lives as long as its cookie',
      );
      assert.equal((await c.get('/marker')).json().marker, 'after');
    } finally {
      clock.advance(-86400 * 1000);
    }
  });
});
