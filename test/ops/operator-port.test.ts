/**
 * The operator listener of the real service (README, "Operator API").
 *
 * Threats: an operator API that opens without being asked to (a new port
 * nobody firewalled), or whose paths answer on the public port; operator
 * verbs that work on one path of the command line (direct) and not the other
 * (through a running service on the embedded database), or whose changes the
 * running service does not see at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DB_KIND } from '../helpers/db.js';
import { OPERATOR, OPERATOR_ENV } from '../helpers/operator.js';
import { freePort } from '../helpers/ports.js';
import {
  cliProcess,
  createServiceDatabase,
  startService,
  type ServiceDatabase,
  type ServiceProcess,
} from '../helpers/service-process.js';
import { WireClient } from '../helpers/wire-client.js';

const PASSWORD = 'a long password';
const auth = { authorization: `Bearer ${OPERATOR.alice}` };

describe(`the operator listener of the real service (${DB_KIND})`, () => {
  let database: ServiceDatabase;
  let svc: ServiceProcess;
  let adminUrl: string;
  before(async () => {
    database = await createServiceDatabase();
    const port = await freePort();
    adminUrl = `http://127.0.0.1:${port}`;
    svc = await startService({ ...database.env, ...OPERATOR_ENV, ADMIN_PORT: String(port) });
    await svc.waitForLog((l) => l.listener === 'operator' && /^Server listening at /.test(String(l.msg)));
    if (!database.env.DATABASE_URL) await svc.waitForLog((l) => l.msg === 'command channel ready for `npm run cli`');
  });
  after(async () => {
    svc.kill();
    await svc.exited;
    await database.drop();
  });

  test('ADMIN_PORT set: the operator API answers there, with a token only; the public port has none of it', async () => {
    assert.equal((await fetch(`${adminUrl}/admin/users`)).status, 401);
    const listed = await fetch(`${adminUrl}/admin/users`, { headers: auth });
    assert.equal(listed.status, 200);
    assert.deepEqual(((await listed.json()) as { response: { users: unknown[] } }).response.users, []);
    for (const path of ['/admin/users', '/admin/audit']) {
      const onPublic = await fetch(`${svc.url}${path}`, { headers: auth });
      assert.equal(onPublic.status, 404, path);
    }
    const introspect = await fetch(`${svc.url}/introspect`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"token":"x"}',
    });
    assert.equal(introspect.status, 404);
  });

  test('users:create through the command line; the user signs in at once; the API and the CLI see the same user', async () => {
    const created = cliProcess(
      database.env,
      ['users:create', '--email', 'ops@example.com', '--password-stdin'],
      PASSWORD,
    );
    assert.equal(created.status, 0, created.stderr);
    assert.match(
      created.stderr,
      database.env.DATABASE_URL
        ? /^directly on the database/m
        : new RegExp(`^via the running service \\(pid ${svc.child.pid}\\)$`, 'm'),
    );
    const client = new WireClient();
    const login = await client.post(svc.url, '/login?include_auth_token', {
      email: 'ops@example.com',
      password: PASSWORD,
    });
    assert.equal(login.status, 200, JSON.stringify(login.data));
    const token = login.data.response.user.authentication_token as string;

    const shownByApi = await fetch(`${adminUrl}/admin/users/ops%40example.com`, { headers: auth });
    const { user } = ((await shownByApi.json()) as { response: { user: { id: number; last_sign_in: { ip: string } } } })
      .response;
    assert.equal(user.last_sign_in.ip, '127.0.0.1');
    const shownByCli = cliProcess(database.env, ['users:show', '--email', 'ops@example.com']);
    assert.equal(shownByCli.status, 0, shownByCli.stderr);
    assert.equal(JSON.parse(shownByCli.stdout).id, user.id);

    const introspect = async (): Promise<boolean> => {
      const res = await fetch(`${adminUrl}/introspect`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      return ((await res.json()) as { active: boolean }).active;
    };
    assert.equal(await introspect(), true);
    const reset = cliProcess(database.env, ['users:reset-2fa', '--email', 'ops@example.com', '--reason', 'drill']);
    assert.equal(reset.status, 0, reset.stderr);
    assert.equal(await introspect(), false, 'the reset through the CLI ends the token at once');
    assert.equal((await client.get(svc.url, '/me')).status, 401, 'and the session');

    const tail = cliProcess(database.env, ['audit:tail', '--user', 'ops@example.com', '--type', 'user.reset_2fa']);
    assert.equal(tail.status, 0, tail.stderr);
    assert.match(tail.stdout, /\tuser\.reset_2fa\t/);
    assert.match(tail.stdout, /"operator":"cli"/);
    assert.match(tail.stdout, /"reason":"drill"/);
    const viewed = await fetch(`${adminUrl}/admin/audit?user=${user.id}&type=operator.user_viewed`, { headers: auth });
    const trail = (await viewed.json()) as { response: { events: Array<{ details: { operator: string } }> } };
    const operators = trail.response.events.map((e) => e.details.operator);
    assert.deepEqual(operators.sort(), ['alice', 'cli']);
  });
});

describe(`without ADMIN_PORT no operator listener is opened (${DB_KIND})`, () => {
  let database: ServiceDatabase;
  before(async () => {
    database = await createServiceDatabase();
  });
  after(() => database.drop());

  test('the service starts, serves, and never listens for operators', async () => {
    const svc = await startService({ ...database.env, ...OPERATOR_ENV });
    try {
      assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${svc.url}/admin/users`, { headers: auth })).status, 404);
      const listening = svc.logs().filter((l) => /^Server listening at /.test(String(l.msg)));
      assert.equal(listening.length, 1, JSON.stringify(listening));
      assert.equal(
        svc.logs().some((l) => l.listener === 'operator'),
        false,
      );
    } finally {
      svc.kill();
      await svc.exited;
    }
  });
});
