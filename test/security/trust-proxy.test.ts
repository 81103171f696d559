/*
 * Threat (issue #15, item 9): behind a proxy, a client writes its own
 * X-Forwarded-For. If the service believes the left-most entry (Fastify's
 * `trustProxy: true` trusts every hop), every request carries an address of the
 * client's choosing: 130 sign-in posts from one machine are 130 "addresses" and
 * never reach the per-IP limit, and 20 wrong passwords on one account are 20
 * (account, address) pairs that are never throttled. With the safe settings
 * (`TRUST_PROXY=true`, read as one hop, or the proxy's address) the service must
 * take the address the proxy itself saw. A real reverse proxy on 127.0.0.2
 * appends the peer's address as nginx's $proxy_add_x_forwarded_for does; the
 * client connects from 127.0.0.3 and forges a fresh X-Forwarded-For each time.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../src/db/database.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { createTestDatabase, DB_KIND } from '../helpers/db.js';

const PROXY_ADDRESS = '127.0.0.2';
const CLIENT_ADDRESS = '127.0.0.3';

/** A minimal reverse proxy: forwards to `target`, appending the peer's address to X-Forwarded-For. */
async function startProxy(target: number): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const peer = req.socket.remoteAddress ?? '';
    const forwarded = req.headers['x-forwarded-for'];
    const headers = { ...req.headers, 'x-forwarded-for': forwarded ? `${String(forwarded)}, ${peer}` : peer };
    const upstream = request(
      { host: '127.0.0.1', port: target, localAddress: PROXY_ADDRESS, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const forged = (): string => `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/** POST JSON through the proxy from CLIENT_ADDRESS with a freshly forged X-Forwarded-For. */
function post(port: number, path: string, body: unknown): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: CLIENT_ADDRESS,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `${forged()}, ${forged()}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe(`TRUST_PROXY takes the address the last trusted hop saw (${DB_KIND})`, () => {
  let database: Database;
  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.close());

  /** The app behind the proxy with this TRUST_PROXY; `run` gets the proxy's port. */
  async function behindProxy(trust: string, run: (port: number, t: TestApp) => Promise<void>): Promise<void> {
    const t = await createTestApp({ TRUST_PROXY: trust, RATE_LIMIT_MAX: '100', RATE_LIMIT_WINDOW: '60' }, database);
    const proxy = await (async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      return startProxy((t.app.server.address() as AddressInfo).port);
    })();
    try {
      await run(proxy.port, t);
    } finally {
      await proxy.close();
      await t.close();
    }
  }

  async function signInPosts(port: number, n: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await post(port, '/login', {})).status);
    return statuses;
  }

  for (const trust of ['true', '1', PROXY_ADDRESS]) {
    test(`TRUST_PROXY=${trust}: 130 sign-in posts from one client with forged addresses get 429 after 100`, async () => {
      await behindProxy(trust, async (port) => {
        const statuses = await signInPosts(port, 130);
        assert.deepEqual(
          statuses.slice(0, 100).filter((s) => s === 429),
          [],
        );
        assert.deepEqual(
          statuses.slice(100),
          Array.from({ length: 30 }, () => 429),
        );
      });
    });

    test(`TRUST_PROXY=${trust}: 20 wrong passwords on one account are throttled, audited with the real address`, async () => {
      const email = uniqueEmail('proxied');
      const user = await createUser(database, email, 'the right password');
      await behindProxy(trust, async (port) => {
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++)
          statuses.push((await post(port, '/login', { email, password: `wrong ${i}` })).status);
        assert.deepEqual(statuses.slice(0, 4), [400, 400, 400, 400]);
        assert.deepEqual(
          statuses.slice(4),
          Array.from({ length: 16 }, () => 429),
          'the pair (account, address) is throttled from the 5th failure on',
        );
        const ips = await database.db
          .selectFrom('audit_events')
          .select('ip')
          .distinct()
          .where('user_id', '=', user.id)
          .execute();
        assert.deepEqual(
          ips.map((r) => r.ip),
          [CLIENT_ADDRESS],
        );
      });
    });
  }

  // What the start-up warning is about: spelled out, "every hop" believes the client.
  test('TRUST_PROXY=0.0.0.0/1,128.0.0.0/1 trusts every hop: forged addresses slip past the limit (hence the warning)', async () => {
    await behindProxy('0.0.0.0/1,128.0.0.0/1', async (port) => {
      const statuses = await signInPosts(port, 130);
      assert.equal(statuses.filter((s) => s === 429).length, 0);
    });
  });
});
