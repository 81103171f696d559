/**
 * Scale-out (SPEC §2: sessions live in Postgres, shared by every instance):
 * two service processes on one database behave as one service. A session
 * begun on one instance works on the other, and a logout on either ends it
 * everywhere. Only Postgres can be shared between processes.
 * The two-factor test begins a sign-in on A and finishes it on B: the pending
 * state, the code and the attempt counters live in the database too.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import {
  createServiceDatabase,
  runCli,
  startService,
  type ServiceDatabase,
  type ServiceProcess,
} from '../helpers/service-process.js';
import { WireClient, type WireAnswer } from '../helpers/wire-client.js';

const NEEDS_POSTGRES = 'needs Postgres shared by two processes: set DATABASE_URL (PGlite is embedded in one process)';

/** Password sign-in on the instance at `url`; the client keeps the session cookie and csrf_token. */
async function signIn(client: WireClient, url: string, email: string, password: string): Promise<WireAnswer> {
  const res = await client.post(url, '/login', { email, password });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res;
}

if (!TEST_DATABASE_URL) test('two instances on one Postgres database', { skip: NEEDS_POSTGRES }, () => {});
else
  describe('two instances on one Postgres database', () => {
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

    test('a two-factor sign-in begun on A is finished on B, then used on both', async () => {
      const tfEmail = 'tf-both@example.com';
      runCli(database.env, ['users:create', '--email', tfEmail, '--password-stdin'], `${password}\n`);
      const client = new WireClient();
      await signIn(client, a.url, tfEmail, password);
      const setup = await client.post(b.url, '/tf-setup', { setup: 'authenticator' });
      assert.equal(setup.status, 200, JSON.stringify(setup.data));
      const key = setup.data.response.tf_authr_key as string;
      // The services run on the real clock. Enrol with the code of a minute ago (inside the
      // ±120 s window) so that the sign-in below can use the current one without a replay.
      const confirmed = await client.post(a.url, '/tf-validate', {
        code: oathtool(key, new Date(Date.now() - 60_000)),
      });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.data));
      await client.post(a.url, '/logout');

      // The real test: first factor on A, second factor on B.
      const fresh = new WireClient();
      const begun = await fresh.post(a.url, '/login', { email: tfEmail, password });
      assert.equal(begun.data.response.tf_state, 'ready', JSON.stringify(begun.data));
      const code = oathtool(key, new Date());
      const wrong = await fresh.post(b.url, '/tf-validate', { code: code === '000000' ? '000001' : '000000' });
      assert.equal(wrong.data.response.error_code, 'TWO_FACTOR_INVALID_TOKEN', 'the attempt counter is shared too');
      const done = await fresh.post(b.url, '/tf-validate', { code });
      assert.equal(done.status, 200, JSON.stringify(done.data));
      for (const svc of [a, b]) {
        const me = await fresh.get(svc.url, '/me');
        assert.equal(me.status, 200);
        assert.deepEqual(me.data.response.authn_methods, ['password', 'authenticator']);
      }
    });
  });
