import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { commands, type CommandContext } from '../../src/cli/commands.js';
import { commandHelp } from '../../src/cli/help.js';
import { operatorFor, operatorTokens } from '../../src/operator/operator-tokens.js';
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
    await run('users:reset-2fa', { email, reason: 'lost phone' });
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

  test('users:show, users:unlock, users:reactivate, audit:tail: the operator verbs, audited as operator cli', async () => {
    const email = uniqueEmail('verbs');
    await run('users:create', { email, 'password-stdin': true }, 'password-1');
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    const key = await enrolAuthenticator(t, c);
    const shown = JSON.parse(await run('users:show', { email }));
    assert.equal(shown.second_factor.method, 'authenticator');
    assert.equal(shown.lockout.locked, false);
    const row = await t.database.db
      .selectFrom('users')
      .selectAll()
      .where('email_normalized', '=', email)
      .executeTakeFirstOrThrow();
    for (const secret of [key, row.tf_totp_secret!, row.password, row.fs_uniquifier])
      assert.ok(!JSON.stringify(shown).includes(secret), 'users:show prints no secret');
    await t.database.db
      .updateTable('users')
      .set({ tf_locked_until: new Date(Date.now() + 3600_000), tf_lockouts: 1 })
      .where('id', '=', row.id)
      .execute();
    assert.match(await run('users:unlock', { email }), /^unlocked /);
    assert.equal(JSON.parse(await run('users:show', { email: String(row.id) })).lockout.locked, false);
    await run('users:deactivate', { email });
    assert.match(await run('users:reactivate', { email }), /^reactivated /);
    assert.equal((await new Client(() => t.app).login(email, 'password-1')).statusCode, 200);
    await assert.rejects(run('users:reset-2fa', { email }), /--reason is required/);
    await assert.rejects(run('users:show', { email: 'nobody@example.com' }), /No user nobody@example.com/);
    const tail = await run('audit:tail', { user: email, limit: '50' });
    for (const type of ['user.created', 'user.unlocked', 'user.deactivated', 'user.reactivated'])
      assert.match(tail, new RegExp(`\\t${type.replace('.', '\\.')}\\t.*"operator":"cli"`), type);
    const onlyUnlocks = (await run('audit:tail', { user: email, type: 'user.unlocked' })).split('\n');
    assert.equal(onlyUnlocks.length, 1);
    assert.match(await run('audit:tail', { user: email, since: '2999-01-01' }), /no audit events match/);
    await assert.rejects(run('audit:tail', { since: 'yesterday' }), /not appropriate|since/i);
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
      const unknown = cli(['nope']);
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /unknown command: nope[\s\S]*users:create/);
      assert.equal(cli([]).status, 2);
      const help = cli(['--help']);
      assert.equal(help.status, 0, help.stderr);
      for (const [name, command] of Object.entries(commands)) {
        assert.ok(help.stdout.includes(`${name}  `) && help.stdout.includes(command.description), name);
        const own = commandHelp(name, command);
        assert.match(own, new RegExp(`^usage: npm run cli -- ${name}`));
        for (const [option, o] of Object.entries(command.options))
          assert.ok(own.includes(`--${option}`) && own.includes(o.description), `${name} --${option}`);
      }
      // The real thing for a few (a process each is slow): exit 0, the command's own help on stdout.
      for (const name of ['users:show', 'admin:token', 'migrate']) {
        const own = cli([name, '--help']);
        assert.equal(own.status, 0, `${name} --help`);
        assert.equal(own.stdout.trim(), commandHelp(name, commands[name]!));
      }
      const badOption = cli(['users:show', '--emial', 'x']);
      assert.equal(badOption.status, 2);
      assert.match(badOption.stderr, /--emial[\s\S]*usage: npm run cli -- users:show/);
      // admin:token needs no database or configuration; the entry it prints admits the token it prints.
      const minted = cli(['admin:token', 'ops-alice'], '', { SECRET_KEY: '' });
      assert.equal(minted.status, 0, minted.stderr);
      const token = /: (tfa_op_\S+)$/m.exec(minted.stdout)?.[1];
      const entry = /: (ops-alice:[0-9a-f]{64})$/m.exec(minted.stdout)?.[1];
      assert.ok(token && entry, minted.stdout);
      assert.equal(operatorFor(operatorTokens.parse(entry, 'ADMIN_TOKENS'), token), 'ops-alice');
      assert.equal(cli(['admin:token']).status, 1);
      const bad = cli(['migrate'], '', { PORT: 'eighty' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /PORT must be a whole number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the README lists every command with its options', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Command line'),
      readme.indexOf('\n## ', readme.indexOf('## Command line') + 5),
    );
    for (const [name, command] of Object.entries(commands)) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${name}`));
      assert.ok(row, `README "Command line" lists ${name}`);
      for (const option of Object.keys(command.options))
        assert.ok(row.includes(`--${option}`) || command.positional === option, `${name}: --${option} in the README`);
    }
  });
});
