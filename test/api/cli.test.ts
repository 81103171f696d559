import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commands, type CommandContext } from '../../src/cli/commands.js';
import { createTestApp, TEST_SECRETS, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, STEP_MS } from '../helpers/two-factor.js';

/** The operator commands of SPEC §9, run against the same database as the app. */
describe(`command line (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  function run(name: string, args: CommandContext['args'], stdin = ''): Promise<string> {
    const command = commands[name];
    assert.ok(command, name);
    return command.run({ config: t.config, db: t.database.db, args, readStdin: async () => stdin });
  }

  test('users:create reads the password from stdin; the user can sign in; duplicates and bad input refused', async () => {
    const email = uniqueEmail();
    assert.match(await run('users:create', { email, 'password-stdin': true, role: 'admin' }, 'password-1'), /created/);
    assert.equal((await new Client(() => t.app).login(email, 'password-1')).statusCode, 200);
    await assert.rejects(run('users:create', { email, 'password-stdin': true }, 'password-1'), /already associated/);
    await assert.rejects(run('users:create', { email: uniqueEmail() }, 'password-1'), /--password-stdin/);
    await assert.rejects(run('users:create', { email: uniqueEmail(), 'password-stdin': true }, 'short'), /invalid/);
    const roles = await t.database.db
      .selectFrom('roles_users')
      .innerJoin('roles', 'roles.id', 'roles_users.role_id')
      .select('roles.name')
      .execute();
    assert.ok(roles.some((r) => r.name === 'admin'));
  });

  test('users:deactivate ends sessions and refuses sign-in', async () => {
    const email = uniqueEmail();
    await run('users:create', { email, 'password-stdin': true }, 'password-1');
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    await run('users:deactivate', { email });
    assert.equal((await c.get('/me')).statusCode, 401);
    assert.equal(
      (await new Client(() => t.app).login(email, 'password-1')).data.response.error_code,
      'DISABLED_ACCOUNT',
    );
  });

  test('users:reset-2fa clears the method and ends every session', async () => {
    const email = uniqueEmail();
    await run('users:create', { email, 'password-stdin': true }, 'password-1');
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    await enrolAuthenticator(t, c);
    await run('users:reset-2fa', { email });
    assert.equal((await c.get('/me')).statusCode, 401);
    const login = await new Client(() => t.app).login(email, 'password-1');
    assert.equal(login.data.response.tf_required, false);
    const row = await t.database.db
      .selectFrom('users')
      .selectAll()
      .where('email_normalized', '=', email)
      .executeTakeFirstOrThrow();
    assert.deepEqual([row.tf_primary_method, row.tf_totp_secret, row.tf_phone_number], [null, null, null]);
  });

  test('keys:rotate re-encrypts TOTP secrets with the newest key and sign-in still works', async () => {
    const email = uniqueEmail();
    await run('users:create', { email, 'password-stdin': true }, 'password-1');
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    const key = await enrolAuthenticator(t, c);
    const keys = { ...JSON.parse(TEST_SECRETS.SECURITY_TOTP_SECRETS), '2': 'second-totp-key-0123456789abcdef' };
    await t.rebuild({ SECURITY_TOTP_SECRETS: JSON.stringify(keys) });
    try {
      assert.match(await run('keys:rotate', {}), /re-encrypted [1-9]\d* TOTP secret/);
      const row = await t.database.db
        .selectFrom('users')
        .select('tf_totp_secret')
        .where('email_normalized', '=', email)
        .executeTakeFirstOrThrow();
      assert.match(row.tf_totp_secret!, /^v1\.2\./);
      t.clock.advance(STEP_MS);
      const d = new Client(() => t.app);
      await d.login(email, 'password-1');
      assert.equal((await d.post('/tf-validate', { code: oathtool(key, t.clock.now()) })).statusCode, 200);
      assert.match(await run('keys:rotate', {}), /re-encrypted 0 TOTP/);
    } finally {
      await t.rebuild();
    }
  });

  test('the real entry point: exit codes, stdin password, config errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfa-cli-'));
    try {
      const env = { DATA_DIR: dir, LOG_LEVEL: 'silent', ...TEST_SECRETS };
      const cli = (args: string[], input = '', extra: Record<string, string> = {}) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
          env: { ...env, ...extra },
          input,
          encoding: 'utf8',
          timeout: 240_000,
        });
      const created = cli(['users:create', '--email', 'cli@example.com', '--password-stdin'], 'a long password\n');
      assert.equal(created.status, 0, created.stderr);
      assert.match(created.stdout, /created user cli@example.com/);
      // Positional arguments, as the README writes them: users:require-2fa <email> on|off.
      const required = cli(['users:require-2fa', 'cli@example.com', 'on']);
      assert.equal(required.status, 0, required.stderr);
      assert.match(required.stdout, /two-factor authentication required for cli@example.com/);
      assert.equal(cli(['users:grant-role', 'cli@example.com', 'admin', 'extra']).status, 2);
      const dup = cli(['users:create', '--email', 'cli@example.com', '--password-stdin'], 'a long password\n');
      assert.equal(dup.status, 1);
      assert.equal(cli(['nope']).status, 2);
      const bad = cli(['migrate'], '', { PORT: 'eighty' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /PORT must be a whole number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
