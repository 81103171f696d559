/**
 * Secrets from files (<NAME>_FILE, as Docker and Kubernetes mount them) and the
 * production refusal. Threats: a secret silently taken from the wrong source
 * (both the variable and its file set), a missing or unreadable secret file
 * leaving the service on a default, and production starting with generated
 * secrets or codes written to the log. Real files, read with fs as the entry
 * points do.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig, SECRET_FILE_VARIABLES } from '../../src/config.js';
import { runServiceToExit } from '../helpers/service-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tfa-secret-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const readFile = (p: string) => readFileSync(p, 'utf8');
function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}
const production = { NODE_ENV: 'production', EMAIL_SERVICE: 'log', SECURITY_SMS_SERVICE: 'log' };
const key = 'k'.repeat(40);
const totp = '{"1":"0123456789abcdef0123"}';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('the configuration was accepted');
}

test('every secret can come from a file; the final line break is not part of the value', () => {
  const twilio = { ACCOUNT_SID: 'AC' + '0'.repeat(32), AUTH_TOKEN: 'token-from-file', PHONE_NUMBER: '+15005550006' };
  const c = loadConfig(
    {
      ...production,
      EMAIL_SERVICE: 'sendgrid',
      SECURITY_EMAIL_SENDER: 'codes@example.com',
      SECURITY_SMS_SERVICE: 'twilio',
      SECRET_KEY_FILE: secretFile('secret_key', `${key}\n`),
      SECURITY_TOTP_SECRETS_FILE: secretFile('totp', `${totp}\r\n`),
      SENDGRID_API_KEY_FILE: secretFile('sendgrid', 'SG.from-a-file\n'),
      SECURITY_SMS_SERVICE_CONFIG_FILE: secretFile('twilio.json', JSON.stringify(twilio)),
    },
    { readFile },
  );
  assert.equal(c.SECRET_KEY, key);
  assert.deepEqual(c.SECURITY_TOTP_SECRETS, { '1': '0123456789abcdef0123' });
  assert.equal(c.SENDGRID_API_KEY, 'SG.from-a-file');
  assert.deepEqual(c.SECURITY_SMS_SERVICE_CONFIG, twilio);
  // Only one line break goes: anything else in the file is the value as written.
  assert.equal(
    loadConfig({ SECRET_KEY_FILE: secretFile('spaces', ` ${key} \n`), SECURITY_TOTP_SECRETS: totp }, { readFile })
      .SECRET_KEY,
    ` ${key} `,
  );
});

test('a variable and its _FILE both set is an error for each secret, whichever would win', () => {
  const env: Record<string, string> = { SECRET_KEY: key, SECURITY_TOTP_SECRETS: totp };
  for (const name of SECRET_FILE_VARIABLES) {
    env[name] ??= 'x';
    env[`${name}_FILE`] = secretFile(`both-${name}`, 'x');
  }
  const problems = problemsOf(() => loadConfig(env, { readFile }));
  for (const name of SECRET_FILE_VARIABLES)
    assert.ok(
      problems.includes(`${name} and ${name}_FILE are both set: set one of them`),
      `${name}: ${problems.join(' | ')}`,
    );
});

test('a missing, unreadable or empty secret file is one clear line, never a fallback', () => {
  const unreadable = secretFile('unreadable', key);
  chmodSync(unreadable, 0o000);
  const denied = (() => {
    try {
      readFileSync(unreadable);
      return false; // root reads every file: that case is covered by the directory below
    } catch {
      return true;
    }
  })();
  const problems = problemsOf(() =>
    loadConfig(
      {
        NODE_ENV: 'development',
        SECRET_KEY_FILE: join(dir, 'no-such-file'),
        SECURITY_TOTP_SECRETS_FILE: secretFile('empty', '\n'),
        SENDGRID_API_KEY_FILE: dir,
        ...(denied ? { SECURITY_SMS_SERVICE_CONFIG_FILE: unreadable } : {}),
      },
      // A development start would generate the secrets: a broken file must not fall back to them.
      { readFile, devSecrets: () => assert.fail('generated secrets used instead of the file') },
    ),
  );
  assert.ok(
    problems.includes(`SECRET_KEY_FILE: cannot read ${join(dir, 'no-such-file')} (ENOENT)`),
    problems.join(' | '),
  );
  assert.ok(problems.includes(`SECURITY_TOTP_SECRETS_FILE: ${join(dir, 'empty')} is empty`), problems.join(' | '));
  assert.ok(problems.includes(`SENDGRID_API_KEY_FILE: cannot read ${dir} (EISDIR)`), problems.join(' | '));
  if (denied)
    assert.ok(
      problems.includes(`SECURITY_SMS_SERVICE_CONFIG_FILE: cannot read ${unreadable} (EACCES)`),
      problems.join(' | '),
    );
  for (const p of problems) assert.doesNotMatch(p, /\n/, 'one line each');
});

test('a bad value from a file is reported under the file variable, without the value', () => {
  const problems = problemsOf(() =>
    loadConfig(
      { SECRET_KEY: key, SECURITY_TOTP_SECRETS_FILE: secretFile('bad-totp', 'not json, and secret') },
      { readFile },
    ),
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^SECURITY_TOTP_SECRETS \(from SECURITY_TOTP_SECRETS_FILE\) /);
  assert.doesNotMatch(problems[0]!, /and secret/);
});

test('production without configuration refuses on one line naming what is missing', () => {
  const problems = problemsOf(() =>
    loadConfig({ NODE_ENV: 'production' }, { readFile, devSecrets: () => assert.fail() }),
  );
  assert.deepEqual(problems, [
    'NODE_ENV=production refuses to start without SECRET_KEY, SECURITY_TOTP_SECRETS, EMAIL_SERVICE, SECURITY_SMS_SERVICE: ' +
      'set SECRET_KEY (or SECRET_KEY_FILE) and SECURITY_TOTP_SECRETS (or SECURITY_TOTP_SECRETS_FILE); ' +
      'choose EMAIL_SERVICE and SECURITY_SMS_SERVICE (sendgrid / twilio, or log on purpose) (README, Operations)',
  ]);
  // Only what is missing is named.
  assert.deepEqual(
    problemsOf(() => loadConfig({ ...production, SECRET_KEY_FILE: secretFile('k2', key) }, { readFile })),
    [
      'NODE_ENV=production refuses to start without SECURITY_TOTP_SECRETS: set SECURITY_TOTP_SECRETS (or SECURITY_TOTP_SECRETS_FILE) (README, Operations)',
    ],
  );
});

test('the service started as compose starts it without secrets exits 2 with that line, before opening anything', () => {
  const data = join(dir, 'data-untouched');
  const run = runServiceToExit({ NODE_ENV: 'production', DATA_DIR: data, HOST: '127.0.0.1', PORT: '0' });
  assert.equal(run.status, 2, run.stderr);
  assert.match(
    run.stderr,
    /NODE_ENV=production refuses to start without SECRET_KEY, SECURITY_TOTP_SECRETS, EMAIL_SERVICE, SECURITY_SMS_SERVICE/,
  );
  assert.equal(run.stdout, '', 'nothing started, nothing logged');
  assert.throws(() => readFileSync(join(data, 'dev-secrets.json')), /ENOENT/, 'no development secrets generated');
});
