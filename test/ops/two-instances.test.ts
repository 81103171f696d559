/**
 * Scale-out (SPEC §2: sessions live in Postgres, shared by every instance):
 * two service processes on one database behave as one service. A session
 * begun on one instance works on the other, and a logout on either ends it
 * everywhere. Only Postgres can be shared between processes.
 *
 * To extend to two-factor: give signIn() a second step on another URL (the
 * code is the last line of OUTBOX_FILE, which both instances append to; post
 * it to /tf-validate there).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { createServiceDatabase, runCli, startService, type ServiceDatabase, type ServiceProcess } from '../helpers/service-process.js';
import { WireClient, type WireAnswer } from '../helpers/wire-client.js';

const NEEDS_POSTGRES = 'needs Postgres shared by two processes: set DATABASE_URL (PGlite is embedded in one process)';

/** Password sign-in on the instance at `url`; the client keeps the session cookie and csrf_token. */
async function signIn(client: WireClient, url: string, email: string, password: string): Promise<WireAnswer> {
  const res = await client.post(url, '/login', { email, password });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res;
}

if (!TEST_DATABASE_URL) test('two instances on one Postgres database', { skip: NEEDS_POSTGRES }, () => {});
else describe('two instances on one Postgres database', () => {
  let database: ServiceDatabase;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let outboxFile: string; // the `log` senders' messages (codes), one JSON line each, from both instances
  const email = 'both@example.com';
  const password = 'a long password';

  before(async () => {
    database = await createServiceDatabase();
    outboxFile = join(database.dataDir, 'outbox.jsonl');
    const env = { ...database.env, OUTBOX_FILE: outboxFile };
    // Started together on an empty schema: the migrations must still run once.
    [a, b] = await Promise.all([startService(env), startService(env)]);
    runCli(database.env, ['users:create', '--email', email, '--password-stdin'], `${password}\n`);
  });
  after(async () => {
    for (const svc of [a, b]) {
      if (!svc) continue;
      svc.kill('SIGTERM');
      assert.equal(await svc.exited, 0);
    }
    await database?.drop();
  });

  test('both instances are ready on the same schema', async () => {
    for (const svc of [a, b]) assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
  });

  test('signed in on A, the session works on B; logout on B ends it on A', async () => {
    const client = new WireClient();
    const login = await signIn(client, a.url, email, password);
    assert.equal(login.data.response.user.email, email);
    const cookie = client.cookies.get('session');
    assert.ok(cookie, 'A set the session cookie');

    const onB = await client.get(b.url, '/me');
    assert.equal(onB.status, 200, JSON.stringify(onB.data));
    assert.equal(onB.data.response.user.email, email);

    // A's csrf_token is valid on B: both derive it from the shared SECRET_KEY and session.
    const out = await client.post(b.url, '/logout');
    assert.equal(out.status, 200, JSON.stringify(out.data));
    assert.equal(client.cookies.has('session'), false, 'B cleared the cookie');

    const again = new WireClient();
    again.cookies.set('session', cookie);
    const onA = await again.get(a.url, '/me');
    assert.equal(onA.status, 401, 'the session row is gone for A too, not just the cookie');
    assert.equal(onA.data.response.error_code, 'UNAUTHENTICATED');
  });

  test('a wrong password on one instance and the right one on the other', async () => {
    const client = new WireClient();
    const wrong = await client.post(b.url, '/login', { email, password: 'not the password' });
    assert.equal(wrong.status, 400);
    await signIn(client, a.url, email, password);
    assert.equal((await client.get(b.url, '/me')).status, 200);
  });
});
