import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands, type CommandContext } from '../../src/cli/commands.js';
import { setTwoFactorRequired } from '../../src/policy/policy.repository.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { enrolAuthenticator, signedIn } from '../helpers/two-factor.js';

/**
 * The two-factor policy without code (README, "Two-factor policy"): required
 * for some roles, some methods only for some roles, a per-user requirement
 * (users:require-2fa), and an enrolment grace period. /login, /tf-setup and
 * disable follow it.
 */
describe(`two-factor policy by role, by user, with a grace period (${DB_KIND})`, () => {
  let t: TestApp;
  const POLICY = {
    SECURITY_TWO_FACTOR_REQUIRED_ROLES: 'admin',
    SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'admin:authenticator',
  };
  before(async () => {
    t = await createTestApp(POLICY);
  });
  after(() => t.close());

  const client = () => new Client(() => t.app);
  function run(name: string, args: CommandContext['args']): Promise<string> {
    return commands[name]!.run({ config: t.config, db: t.database.db, args, readStdin: async () => '' });
  }
  async function userWithRole(role?: string): Promise<string> {
    const email = uniqueEmail(role ?? 'plain');
    await createUser(t.database, email, 'password-1');
    if (role) assert.match(await run('users:grant-role', { email, role }), /granted role/);
    return email;
  }

  test('a required role must set up at sign-in; a user without the role signs in', async () => {
    const admin = await userWithRole('admin');
    const login = await client().login(admin, 'password-1');
    assert.deepEqual(
      { tf_required: login.data.response.tf_required, tf_state: login.data.response.tf_state },
      { tf_required: true, tf_state: 'setup_from_login' },
    );
    const plain = await userWithRole('editor');
    const other = await client().login(plain, 'password-1');
    assert.equal(other.data.response.tf_required, false);
    assert.ok(other.data.response.user);
  });

  test('a forbidden method is refused with TWO_FACTOR_METHOD_NOT_ALLOWED; the allowed one completes the sign-in', async () => {
    const admin = await userWithRole('admin');
    const c = client();
    await c.login(admin, 'password-1');
    const info = await c.get('/tf-setup');
    assert.deepEqual(info.data.response.tf_available_methods, ['authenticator']);
    assert.equal(info.data.response.tf_required, true);
    for (const setup of ['sms', 'email']) {
      const refused = await c.post('/tf-setup', { setup, phone: '+442079460000' });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.data.response.error_code, 'TWO_FACTOR_METHOD_NOT_ALLOWED');
      assert.deepEqual(Object.keys(refused.data.response.field_errors), ['setup']);
    }
    assert.equal(t.senders.smses.length + t.senders.emails.length, 0, 'no code went out for a refused method');
    await enrolAuthenticator(t, c);
    const me = await c.get('/me');
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.data.response.roles, ['admin']);
    assert.equal(me.data.response.tf_required, true);
    assert.equal(me.data.response.aal, 'aal2');
  });

  test('other users keep every method, and may disable; a required role may not disable', async () => {
    const plain = await userWithRole();
    const c = await signedIn(t, plain, 'password-1');
    assert.deepEqual((await c.get('/tf-setup')).data.response.tf_available_methods, ['email', 'authenticator', 'sms']);
    await enrolAuthenticator(t, c);
    assert.equal((await c.get('/tf-setup')).data.response.tf_available_methods[0], 'disable');
    await run('users:grant-role', { email: plain, role: 'admin' });
    const refused = await c.post('/tf-setup', { setup: 'disable' });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.data.response.error_code, 'TWO_FACTOR_METHOD_NOT_AVAILABLE');
    assert.match(await run('users:revoke-role', { email: plain, role: 'admin' }), /revoked role admin/);
    assert.match(await run('users:revoke-role', { email: plain, role: 'admin' }), /does not have role/);
    assert.equal((await c.post('/tf-setup', { setup: 'disable' })).statusCode, 200);
  });

  test('users:require-2fa on|off: the per-user requirement, and the repository function behind it', async () => {
    const email = await userWithRole();
    assert.match(await run('users:require-2fa', { email, state: 'on' }), /required/);
    assert.equal((await client().login(email, 'password-1')).data.response.tf_state, 'setup_from_login');
    assert.match(await run('users:require-2fa', { email, state: 'off' }), /no longer required/);
    assert.equal((await client().login(email, 'password-1')).data.response.tf_required, false);
    await assert.rejects(run('users:require-2fa', { email, state: 'maybe' }), /on or off/);
    await assert.rejects(run('users:require-2fa', { email: uniqueEmail('ghost'), state: 'on' }), /no user/i);
    await assert.rejects(run('users:grant-role', { email, role: 'two words' }), /role name/);
    // The operator API's entry point.
    const row = await t.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    assert.equal(await setTwoFactorRequired(t.database.db, row.id, true), true);
    assert.equal(await setTwoFactorRequired(t.database.db, 2 ** 31 - 1, true), false);
    const setup = await client().login(email, 'password-1');
    assert.equal(setup.data.response.tf_state, 'setup_from_login');
  });

  test('grace period: a required user without a factor signs in, told until when; afterwards setup is forced', async () => {
    await t.rebuild({ ...POLICY, SECURITY_TWO_FACTOR_GRACE_PERIOD: '3 days' });
    try {
      const admin = await userWithRole('admin');
      const firstAt = t.clock.now();
      const until = new Date(firstAt.getTime() + 3 * 86_400_000).toISOString();
      const first = await client().login(admin, 'password-1');
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.data.response.tf_required, false);
      assert.equal(first.data.response.tf_setup_required, true);
      assert.equal(first.data.response.tf_grace_until, until);
      // The period runs from the first sign-in, not from each one.
      t.clock.advance(2 * 86_400_000);
      const second = await client().login(admin, 'password-1');
      assert.equal(second.data.response.tf_grace_until, until);
      // A plain user is not told anything.
      const plain = await userWithRole();
      assert.equal((await client().login(plain, 'password-1')).data.response.tf_setup_required, undefined);
      t.clock.advance(86_400_000);
      const over = await client().login(admin, 'password-1');
      assert.equal(over.data.response.tf_state, 'setup_from_login', 'the grace period is over at its end');
    } finally {
      t.clock.advance(-3 * 86_400_000);
      await t.rebuild(POLICY);
    }
  });

  test('concurrent first sign-ins in the grace period agree on one start', async () => {
    await t.rebuild({ ...POLICY, SECURITY_TWO_FACTOR_GRACE_PERIOD: '1 hour' });
    try {
      const admin = await userWithRole('admin');
      const answers = await Promise.all(Array.from({ length: 6 }, () => client().login(admin, 'password-1')));
      // The password throttle may refuse some of a burst on one account (README, Abuse resistance).
      const ok = answers.filter((a) => a.statusCode === 200);
      assert.ok(ok.length >= 2, answers.map((a) => a.statusCode).join(','));
      const untils = new Set(ok.map((a) => a.data.response.tf_grace_until));
      assert.equal(untils.size, 1, [...untils].join(','));
    } finally {
      await t.rebuild(POLICY);
    }
  });
});
