import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseDurationSeconds } from '../../src/config.js';

const secrets = { SECRET_KEY: 'k'.repeat(40), SECURITY_TOTP_SECRETS: '{"1":"0123456789abcdef0123"}' };

test('defaults follow SPEC §8', () => {
  const c = loadConfig({ ...secrets });
  assert.equal(c.PORT, 3000);
  assert.equal(c.HOST, '127.0.0.1');
  assert.equal(c.DATA_DIR, './data');
  assert.equal(c.SECURITY_PASSWORD_LENGTH_MIN, 8);
  assert.equal(c.SECURITY_SESSION_LIFETIME, 86400);
  assert.equal(c.SECURITY_REMEMBER_DURATION, 30 * 86400);
  assert.equal(c.SECURITY_TWO_FACTOR_LOGIN_VALIDITY, 30 * 86400);
  assert.equal(c.SECURITY_TWO_FACTOR_MAX_ATTEMPTS, 5);
  assert.equal(c.SESSION_COOKIE_SECURE, true);
  assert.equal(c.SESSION_COOKIE_SAMESITE, 'lax');
  assert.deepEqual(c.SECURITY_TWO_FACTOR_ENABLED_METHODS, ['email', 'authenticator', 'sms']);
  assert.ok(Object.isFrozen(c));
});

test('durations accept seconds and "N unit" strings', () => {
  assert.equal(parseDurationSeconds('300'), 300);
  assert.equal(parseDurationSeconds('30 days'), 2592000);
  assert.equal(parseDurationSeconds('12 hours'), 43200);
  assert.equal(parseDurationSeconds('5 minutes'), 300);
  assert.equal(parseDurationSeconds('five minutes'), null);
  assert.equal(
    loadConfig({ ...secrets, SECURITY_TWO_FACTOR_LOGIN_VALIDITY: '7 days' }).SECURITY_TWO_FACTOR_LOGIN_VALIDITY,
    604800,
  );
});

test('lists are comma-separated and checked', () => {
  const c = loadConfig({
    ...secrets,
    SECURITY_TWO_FACTOR_ENABLED_METHODS: 'authenticator, email',
    CORS_ORIGINS: 'https://a.example,https://b.example',
  });
  assert.deepEqual(c.SECURITY_TWO_FACTOR_ENABLED_METHODS, ['authenticator', 'email']);
  assert.deepEqual(c.CORS_ORIGINS, ['https://a.example', 'https://b.example']);
});

test('every problem is reported at once, one line each', () => {
  try {
    loadConfig({
      ...secrets,
      PORT: 'eighty',
      SECURITY_TWO_FACTOR_REQUIRED: 'maybe',
      SECURITY_TWO_FACTOR_ENABLED_METHODS: 'email,pigeon',
      SESSION_COOKIE_SAMESITE: 'sometimes',
    });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 4);
    assert.match(err.message, /PORT/);
    assert.match(err.message, /pigeon/);
  }
});

test('production refuses to start without secrets or an explicit sender', () => {
  assert.throws(
    () => loadConfig({ NODE_ENV: 'production' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.some((p) => p.includes('SECRET_KEY')));
      assert.ok(err.problems.some((p) => p.includes('SECURITY_TOTP_SECRETS')));
      assert.ok(err.problems.some((p) => p.includes('EMAIL_SERVICE')));
      return true;
    },
  );
  const ok = loadConfig({ NODE_ENV: 'production', ...secrets, EMAIL_SERVICE: 'log', SECURITY_SMS_SERVICE: 'log' });
  assert.equal(ok.NODE_ENV, 'production');
});

test('outside production missing secrets come from devSecrets, with a warning', () => {
  const warnings: string[] = [];
  const c = loadConfig(
    {},
    {
      devSecrets: () => ({ SECRET_KEY: 'g'.repeat(43), SECURITY_TOTP_SECRETS: { '1': 'h'.repeat(43) } }),
      warn: (m) => warnings.push(m),
    },
  );
  assert.equal(c.SECRET_KEY, 'g'.repeat(43));
  assert.equal(warnings.length, 1);
});

test('SameSite=none with insecure cookies and bad key maps are refused', () => {
  assert.throws(
    () => loadConfig({ ...secrets, SESSION_COOKIE_SAMESITE: 'none', SESSION_COOKIE_SECURE: 'false' }),
    /Secure/,
  );
  assert.throws(() => loadConfig({ ...secrets, SECURITY_TOTP_SECRETS: '{"a":"0123456789abcdef0123"}' }), /tag/);
  assert.throws(() => loadConfig({ ...secrets, SECURITY_TOTP_SECRETS: 'not json' }), /JSON/);
  assert.throws(() => loadConfig({ ...secrets, SECRET_KEY: 'short' }), /SECRET_KEY/);
  assert.throws(() => loadConfig({ ...secrets, EMAIL_SERVICE: 'sendgrid' }), /SENDGRID_API_KEY/);
});
