/**
 * The settings of events out (README, "Webhooks" and "Security e-mails").
 * Threats: webhooks sent unsigned or with a guessable key, a secret echoed in
 * a start-up error, a URL holding a token printed in the log, a notice list
 * that silently means something else than what was written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { eventsSettings } from '../../src/events/settings.js';
import { backoffMs } from '../../src/events/settings.js';
import { EVENT_NOTICES, NOTICES, noticeFor } from '../../src/events/notices.js';
import { TEST_SECRETS } from '../helpers/app.js';
import { TEST_WEBHOOK_SECRET } from '../helpers/webhook-receiver.js';

const base = { NODE_ENV: 'test', ...TEST_SECRETS };
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
}

test('WEBHOOK_URLS needs a signing secret of the Standard Webhooks form; a bad one is refused without being echoed', () => {
  assert.deepEqual(problems({ WEBHOOK_URLS: 'https://hooks.example/in' }), [
    'WEBHOOK_URLS needs WEBHOOK_SECRET (or WEBHOOK_SECRET_FILE): e.g. `echo whsec_$(openssl rand -base64 32)`',
  ]);
  const short = `whsec_${Buffer.from('too-short-key').toString('base64')}`;
  const [tooShort] = problems({ WEBHOOK_URLS: 'https://hooks.example/in', WEBHOOK_SECRET: short });
  assert.match(tooShort!, /^WEBHOOK_SECRET must hold 24 to 64 bytes of key \(got 13\)$/);
  const [notBase64] = problems({ WEBHOOK_SECRET: 'whsec_not base64!' });
  assert.match(notBase64!, /^WEBHOOK_SECRET must be whsec_ followed by base64/);
  assert.ok(!notBase64!.includes('not base64!'), 'the value is not echoed');
  assert.deepEqual(problems({ WEBHOOK_URLS: 'https://hooks.example/in', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }), []);
});

test('WEBHOOK_SECRET_FILE is read like the other secret files; both set is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfa-webhook-secret-'));
  try {
    const file = join(dir, 'webhook_secret');
    writeFileSync(file, `${TEST_WEBHOOK_SECRET}\n`, { mode: 0o600 });
    const readFile = (p: string) => readFileSync(p, 'utf8');
    const config = loadConfig(
      { ...base, WEBHOOK_URLS: 'https://hooks.example/in', WEBHOOK_SECRET_FILE: file },
      { readFile },
    );
    assert.equal(config.WEBHOOK_SECRET, TEST_WEBHOOK_SECRET);
    assert.equal(eventsSettings(config).webhookKey.toString(), 'test-webhook-key-0123456789abcdef');
    assert.throws(
      () => loadConfig({ ...base, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_SECRET_FILE: file }, { readFile }),
      /WEBHOOK_SECRET and WEBHOOK_SECRET_FILE are both set/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WEBHOOK_URLS takes http(s) URLs only and names a bad one by position, not by its text (it may hold a token)', () => {
  const [bad] = problems({
    WEBHOOK_URLS: 'https://ok.example/a, ftp://files.example/?token=s3cret, not a url',
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  });
  assert.equal(bad, 'WEBHOOK_URLS entries 2, 3 are not http(s) URLs');
  assert.deepEqual(
    problems({ WEBHOOK_URLS: 'https://a.example,https://a.example', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }),
    ['WEBHOOK_URLS names a URL twice'],
  );
});

test('SECURITY_NOTIFICATIONS: all by default, a list, or none alone', () => {
  assert.deepEqual([...eventsSettings(loadConfig(base)).notices], [...NOTICES]);
  assert.deepEqual([...eventsSettings(loadConfig({ ...base, SECURITY_NOTIFICATIONS: 'none' })).notices], []);
  assert.deepEqual(problems({ SECURITY_NOTIFICATIONS: 'none,tf_reset' }), [
    'SECURITY_NOTIFICATIONS: "none" turns every notice off and cannot be listed with others',
  ]);
  assert.match(problems({ SECURITY_NOTIFICATIONS: 'tf_rest' })[0]!, /unknown values tf_rest/);
});

test('every notice is sent by some event, and the recovery warning falls back to the plain notice', () => {
  const reachable = new Set(Object.values(EVENT_NOTICES).flatMap((pick) => [...pick({}), ...pick({ remaining: 0 })]));
  assert.deepEqual(
    [...NOTICES].filter((n) => !reachable.has(n)),
    [],
  );
  const all = new Set(NOTICES);
  assert.equal(noticeFor('recovery_code.used', { remaining: 1 }, all), 'recovery_codes_low');
  assert.equal(noticeFor('recovery_code.used', { remaining: 2 }, all), 'recovery_code_used');
  assert.equal(
    noticeFor('recovery_code.used', { remaining: 0 }, new Set(['recovery_code_used'] as const)),
    'recovery_code_used',
  );
  assert.equal(noticeFor('signin.success', {}, all), null);
});

test('backoff doubles from 5 s up to an hour, half of it random', () => {
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffMs(n, 0)),
    [2500, 5000, 10000],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffMs(n, 0.5)),
    [3750, 7500, 15000],
  );
  assert.equal(backoffMs(40, 0), 1_800_000);
  assert.equal(backoffMs(40, 0.5), 2_700_000);
  assert.ok(backoffMs(40, 0.999999) <= 3_600_000);
});
