/**
 * Threat: logs are read by more people and systems than the database (log
 * shippers, support staff, third-party aggregation). They must never hold a
 * password, code, TOTP secret, token or cookie (SPEC §10) — only the `log`
 * sender's outbox line may hold a code, by design. And every security event
 * must leave an audit row with IP and user agent, so an incident can be traced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { oathtool } from '../helpers/real-clients.js';
import { enrolAuthenticator, STEP_MS, wrongCode } from '../helpers/two-factor.js';

describe(`logs hold no secrets; audit rows are complete (${DB_KIND})`, () => {
  let t: TestApp;
  const secrets = new Set<string>();
  const remember = (...values: Array<string | undefined>) =>
    values.forEach((v) => v && v.length >= 6 && secrets.add(v));

  before(async () => {
    // The real `log` senders, so outbox lines are produced and must be the only ones with codes.
    t = await createTestApp(
      { SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false', SECURITY_REGISTERABLE: 'true', LOG_LEVEL: 'trace' },
      undefined,
      { senders: 'configured' },
    );
  });
  after(() => t.close());

  function outboxCode(to: string): string {
    const lines = t.logs.filter((l) => l.includes('"outbox delivery"') && l.includes(to));
    const code = /\b(\d{6})\b/.exec(JSON.parse(lines.at(-1)!).outbox.text)?.[1];
    assert.ok(code, `no outbox line for ${to}`);
    return code;
  }

  function trackCookies(c: Client): void {
    for (const v of c.cookies.values()) remember(v, v.split('.')[0]);
    remember(c.csrf);
  }

  test('a full run of every flow leaves no secret in the logs', async () => {
    const email = uniqueEmail();
    const password = 'Correct-Horse-Battery-1';
    remember(password, 'Another-Secret-Pass-2');
    const c = new Client(() => t.app);
    c.headers['user-agent'] = 'audit-test-agent/1.0';
    const reg = await c.post('/register?include_auth_token', { email, password });
    remember(reg.data.response.user.authentication_token);
    trackCookies(c);
    const setup = await c.post('/tf-setup', { setup: 'authenticator' });
    remember(setup.data.response.tf_authr_b32key, setup.data.response.tf_authr_key, setup.data.response.tf_state_token);
    const code1 = oathtool(setup.data.response.tf_authr_b32key, t.clock.now());
    remember(code1);
    await c.post('/tf-validate', { code: code1 });
    trackCookies(c);
    await c.post('/logout');
    t.clock.advance(STEP_MS);

    await c.login(email, password, { remember: true });
    trackCookies(c);
    await c.post('/tf-validate', {
      code: '000000' === oathtool(setup.data.response.tf_authr_b32key, t.clock.now()) ? '111111' : '000000',
    });
    const code2 = oathtool(setup.data.response.tf_authr_b32key, t.clock.now());
    remember(code2);
    const ok = await c.post('/tf-validate?include_auth_token', { code: code2 });
    assert.equal(ok.statusCode, 200);
    remember(ok.data.response.user.authentication_token);
    trackCookies(c);
    await c.post('/change', { password, new_password: 'Another-Secret-Pass-2' });
    trackCookies(c);
    const email2 = await c.post('/tf-setup', { setup: 'email' });
    assert.equal(email2.statusCode, 200);
    const code3 = outboxCode(email);
    remember(code3);
    await c.post('/tf-validate', { code: code3 });
    await c.get('/me', { 'authentication-token': ok.data.response.user.authentication_token });
    await new Client(() => t.app).login(email, 'wrong-password-here');

    const leaks: string[] = [];
    for (const line of t.logs) {
      if (line.includes('"outbox delivery"')) continue;
      for (const s of secrets) if (line.includes(s)) leaks.push(`${s.slice(0, 8)}… in ${line.slice(0, 200)}`);
    }
    assert.deepEqual(leaks, []);
    assert.ok(secrets.size >= 10, `checked ${secrets.size} secrets`);
    assert.ok(t.logs.length > 20, 'the app did log');
  });

  test('audit rows for a full sign-in, a failed second factor and a lockout carry IP and user agent', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    const c = new Client(() => t.app);
    c.headers['user-agent'] = 'audit-test-agent/2.0';
    await c.login(email, 'password-1');
    // The base32 secret as stored and shown by apps (tf_authr_key groups it with dashes).
    const key = (await enrolAuthenticator(t, c)).replace(/-/g, '');
    await c.post('/logout');
    const wrong = wrongCode(key, t.clock.now());
    for (let round = 0; round < 2; round++) {
      await c.login(email, 'password-1');
      for (let i = 0; i < 5; i++) await c.post('/tf-validate', { code: wrong });
    }
    const rows = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('id')
      .execute();
    const types = rows.map((r) => r.type);
    for (const expected of [
      'signin.success',
      'tf.passed',
      'tf.setup_changed',
      'signout',
      'tf.failed',
      'tf.too_many_attempts',
      'tf.lockout',
    ]) {
      assert.ok(types.includes(expected), `${expected} in ${types.join(', ')}`);
    }
    for (const r of rows) {
      assert.equal(r.ip, '127.0.0.1');
      assert.equal(r.user_agent, 'audit-test-agent/2.0');
      assert.ok(!JSON.stringify(r.details).includes(key));
    }
  });

  test('a recovery-code sign-in leaves recovery_codes.generated and recovery_code.used rows with IP and user agent', async () => {
    const email = uniqueEmail();
    const user = await createUser(t.database, email, 'password-1');
    const c = new Client(() => t.app);
    c.headers['user-agent'] = 'audit-test-agent/3.0';
    await c.login(email, 'password-1');
    await enrolAuthenticator(t, c);
    const codes = await c.post('/mf-recovery-codes', {});
    assert.equal(codes.statusCode, 200, codes.body);
    await c.post('/logout');
    await c.login(email, 'password-1');
    const used = await c.post('/mf-recovery', { code: codes.data.response.recovery_codes[0] });
    assert.equal(used.statusCode, 200, used.body);
    const rows = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('type', 'in', ['recovery_codes.generated', 'recovery_code.used'])
      .execute();
    assert.deepEqual(rows.map((r) => r.type).sort(), ['recovery_code.used', 'recovery_codes.generated']);
    for (const r of rows) {
      assert.equal(r.ip, '127.0.0.1');
      assert.equal(r.user_agent, 'audit-test-agent/3.0');
      assert.ok(!JSON.stringify(r.details).includes(codes.data.response.recovery_codes[0]));
    }
  });
});
