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

// Threat (issue #15, item 2): hidden floors make operators and test suites unable to
// check expiry with short windows, and an undocumented refusal at start looks like a bug.
test('durations take any positive value, warn when unusually short, and keep only real limits', () => {
  const warnings: string[] = [];
  const c = loadConfig(
    {
      ...secrets,
      SECURITY_TWO_FACTOR_SETUP_WITHIN: '3',
      SECURITY_SESSION_LIFETIME: '5 seconds',
      SECURITY_TWO_FACTOR_SMS_VALIDITY: '10',
      SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY: '0',
    },
    { warn: (m) => warnings.push(m) },
  );
  assert.equal(c.SECURITY_TWO_FACTOR_SETUP_WITHIN, 3);
  assert.equal(c.SECURITY_SESSION_LIFETIME, 5);
  assert.equal(c.SECURITY_TWO_FACTOR_SMS_VALIDITY, 10);
  assert.equal(c.SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY, 0, '0: the current 30-second step only');
  for (const name of [
    'SECURITY_TWO_FACTOR_SETUP_WITHIN',
    'SECURITY_SESSION_LIFETIME',
    'SECURITY_TWO_FACTOR_SMS_VALIDITY',
  ])
    assert.ok(
      warnings.some((w) => w.startsWith(`${name} is `) && /unusually short/.test(w)),
      `${name} warns: ${warnings.join(' | ')}`,
    );
  assert.equal(warnings.length, 3, warnings.join(' | '));
  // The real limits: zero where it means nothing, a TOTP window the check cannot take, timer overflow.
  const refused = (env: Record<string, string>, pattern: RegExp) =>
    assert.throws(
      () => loadConfig({ ...secrets, ...env }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 1 && pattern.test(err.problems[0]!),
    );
  refused({ SECURITY_TWO_FACTOR_SETUP_WITHIN: '0' }, /SETUP_WITHIN must be positive/);
  refused({ SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY: '1471' }, /from 0 to 1470 seconds/);
  refused({ SHUTDOWN_TIMEOUT: '30 days' }, /SHUTDOWN_TIMEOUT must be positive, at most 2147483/);
  refused({ SECURITY_REMEMBER_DURATION: '99999 weeks' }, /at most 3153600000 seconds/);
  assert.equal(
    loadConfig({ ...secrets, SECURITY_TWO_FACTOR_LOGIN_VALIDITY: '0' }).SECURITY_TWO_FACTOR_LOGIN_VALIDITY,
    0,
  );
});

// Threat (issue #15, item 12): a configuration mistake must stop the start with one line that
// says what to write, not a TypeError stack (TRUST_PROXY) or a silent never-matching value
// (CORS_ORIGINS with a path), and a misspelled name must not leave a default in force unnoticed.
test('a bad TRUST_PROXY or CORS_ORIGINS is one clear line; misspelled names warn with the nearest one', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ ...secrets, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  const proxy = problemsOf({ TRUST_PROXY: 'yes please' });
  assert.equal(proxy.length, 1);
  assert.match(proxy[0]!, /^TRUST_PROXY must be false, true .*not valid: "yes please"/);
  assert.match(problemsOf({ TRUST_PROXY: '10.0.0.1,10.0.0.0/33' })[0]!, /not valid: "10\.0\.0\.0\/33"/);
  assert.deepEqual(loadConfig({ ...secrets, TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,::1' }).TRUST_PROXY, [
    '10.0.0.1',
    '10.1.0.0/16',
    '::1',
  ]);
  assert.equal(loadConfig({ ...secrets, TRUST_PROXY: 'true' }).TRUST_PROXY, 1, 'true is one hop');

  const cors = problemsOf({
    CORS_ORIGINS: 'https://ok.example,https://app.example/,http://b.example/spa,HTTPS://C.example:443,*',
  });
  assert.equal(cors.length, 1, 'one line for the variable');
  assert.match(cors[0]!, /^CORS_ORIGINS takes origins only/);
  assert.match(cors[0]!, /"https:\/\/app\.example\/" \(write "https:\/\/app\.example"\)/);
  assert.match(cors[0]!, /"http:\/\/b\.example\/spa" \(write "http:\/\/b\.example"\)/);
  assert.match(cors[0]!, /\(write "https:\/\/c\.example"\)/);
  assert.match(cors[0]!, /"\*" \(not an http\(s\) origin\)/);
  assert.doesNotMatch(cors[0]!, /ok\.example/);

  const warnings: string[] = [];
  loadConfig(
    {
      ...secrets,
      SECURITY_TWO_FACTOR_SETUP_WITHN: '3',
      TWILIO_URL: 'http://x',
      CORS_ORIGIN: 'https://a.example',
      PATH: '/usr/bin',
      HOME: '/root',
      SECURITY_TWO_FACTOR_SETUP_WITHIN: '300',
    },
    { warn: (m) => warnings.push(m) },
  );
  assert.deepEqual(warnings, [
    'CORS_ORIGIN is not a setting of this service and is ignored; did you mean CORS_ORIGINS?',
    'SECURITY_TWO_FACTOR_SETUP_WITHN is not a setting of this service and is ignored; did you mean SECURITY_TWO_FACTOR_SETUP_WITHIN?',
    'TWILIO_URL is not a setting of this service and is ignored; did you mean TWILIO_API_URL?',
  ]);
});

// Threat (issue #15, item 9): trusting every hop lets each client pick its address.
test('TRUST_PROXY covering every address loads, with a warning; /0 is one clear line', () => {
  const warnings: string[] = [];
  loadConfig(
    { ...secrets, TRUST_PROXY: '0.0.0.0/1,128.0.0.0/1,10.0.0.0/8,fc00::/7' },
    { warn: (m) => warnings.push(m) },
  );
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^TRUST_PROXY trusts proxies anywhere in 0\.0\.0\.0\/1, 128\.0\.0\.0\/1: a client/);
  assert.throws(
    () => loadConfig({ ...secrets, TRUST_PROXY: '0.0.0.0/0' }),
    /TRUST_PROXY must be .*not valid: "0\.0\.0\.0\/0"/,
  );
});
