import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  inGracePeriod,
  methodAllowed,
  twoFactorPolicy,
  type PolicyConfig,
} from '../../src/policy/two-factor-policy.js';
import { testConfig } from '../helpers/app.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;
const nobody = { roles: [], tfRequired: false, graceStartedAt: null };

function config(env: Record<string, string> = {}): PolicyConfig {
  return testConfig(env);
}

test('no requirement by default: optional, every enabled method, no grace', () => {
  const p = twoFactorPolicy(config(), nobody, NOW);
  assert.deepEqual(p, { required: false, because: [], methods: ['email', 'authenticator', 'sms'], graceUntil: null });
});

test('SECURITY_TWO_FACTOR_REQUIRED requires it of everyone', () => {
  assert.deepEqual(twoFactorPolicy(config({ SECURITY_TWO_FACTOR_REQUIRED: 'true' }), nobody, NOW).because, [
    'all_users',
  ]);
});

test('SECURITY_TWO_FACTOR_REQUIRED_ROLES requires it of those roles only', () => {
  const c = config({ SECURITY_TWO_FACTOR_REQUIRED_ROLES: 'admin, support' });
  assert.equal(twoFactorPolicy(c, { ...nobody, roles: ['admin'] }, NOW).required, true);
  assert.deepEqual(twoFactorPolicy(c, { ...nobody, roles: ['support', 'admin'] }, NOW).because, [
    'role:admin',
    'role:support',
  ]);
  assert.equal(twoFactorPolicy(c, { ...nobody, roles: ['editor'] }, NOW).required, false);
  assert.equal(twoFactorPolicy(c, { ...nobody, roles: ['Admin'] }, NOW).required, false, 'names are exact');
});

test('the per-user flag requires it whatever the roles', () => {
  assert.deepEqual(twoFactorPolicy(config(), { ...nobody, tfRequired: true }, NOW).because, ['user']);
});

test('SECURITY_TWO_FACTOR_METHODS_BY_ROLE narrows the methods; several roles: what all of them allow', () => {
  const c = config({ SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'admin:authenticator;support:authenticator,email' });
  assert.deepEqual(twoFactorPolicy(c, { ...nobody, roles: ['admin'] }, NOW).methods, ['authenticator']);
  assert.deepEqual(twoFactorPolicy(c, { ...nobody, roles: ['support'] }, NOW).methods, ['email', 'authenticator']);
  assert.deepEqual(twoFactorPolicy(c, { ...nobody, roles: ['support', 'admin'] }, NOW).methods, ['authenticator']);
  assert.deepEqual(twoFactorPolicy(c, nobody, NOW).methods, ['email', 'authenticator', 'sms']);
  const admin = twoFactorPolicy(c, { ...nobody, roles: ['admin'] }, NOW);
  assert.equal(methodAllowed(admin, 'sms'), false);
  assert.equal(methodAllowed(admin, 'authenticator'), true);
  // Within SECURITY_TWO_FACTOR_ENABLED_METHODS only.
  const narrow = config({
    SECURITY_TWO_FACTOR_ENABLED_METHODS: 'email,sms',
    SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'support:authenticator,email',
  });
  assert.deepEqual(twoFactorPolicy(narrow, { ...nobody, roles: ['support'] }, NOW).methods, ['email']);
});

test('the grace period runs from the first sign-in under the requirement, only when required', () => {
  const c = config({ SECURITY_TWO_FACTOR_REQUIRED_ROLES: 'admin', SECURITY_TWO_FACTOR_GRACE_PERIOD: '2 hours' });
  const fresh = twoFactorPolicy(c, { ...nobody, roles: ['admin'] }, NOW);
  assert.equal(fresh.graceUntil?.getTime(), NOW.getTime() + 2 * HOUR);
  assert.equal(inGracePeriod(fresh, NOW), true);
  const started = new Date(NOW.getTime() - 2 * HOUR + 1);
  const late = twoFactorPolicy(c, { roles: ['admin'], tfRequired: false, graceStartedAt: started }, NOW);
  assert.equal(inGracePeriod(late, NOW), true);
  assert.equal(inGracePeriod(late, new Date(NOW.getTime() + 1)), false, 'over at the exact end');
  assert.equal(twoFactorPolicy(c, nobody, NOW).graceUntil, null, 'not required: no grace to speak of');
  assert.equal(twoFactorPolicy(config({ SECURITY_TWO_FACTOR_REQUIRED: 'true' }), nobody, NOW).graceUntil, null);
});

test('the settings refuse what cannot be meant', () => {
  assert.throws(() => testConfig({ SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'admin' }), /role:method/);
  assert.throws(() => testConfig({ SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'admin:fax' }), /fax/);
  assert.throws(() => testConfig({ SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'admin:sms;admin:email' }), /twice/);
  assert.throws(() => testConfig({ SECURITY_TWO_FACTOR_REQUIRED_ROLES: 'the admins' }), /invalid role name/);
  assert.throws(
    () =>
      testConfig({
        SECURITY_TWO_FACTOR_ENABLED_METHODS: 'email',
        SECURITY_TWO_FACTOR_METHODS_BY_ROLE: 'admin:sms',
      }),
    /does not enable/,
  );
  assert.throws(() => testConfig({ SECURITY_REFRESH_TOKEN_COOKIE_NAME: 'a b' }), /cookie name/);
  assert.equal(testConfig({ SECURITY_REFRESH_TOKEN_COOKIE_NAME: 'none' }).SECURITY_REFRESH_TOKEN_COOKIE_NAME, '');
});
