import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRecoveryCode, generateRecoveryCodes, normalizeRecoveryCode } from '../../src/recovery-codes/codes.js';

test('generateRecoveryCodes: n distinct lower-case xxxx-xxxx-xxxx codes', () => {
  const codes = generateRecoveryCodes(5);
  assert.equal(codes.length, 5);
  assert.equal(new Set(codes).size, 5);
  for (const code of codes) assert.match(code, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
  assert.notDeepEqual(generateRecoveryCodes(5), codes);
});

test('generateRecoveryCodes: every hex digit shows up (the codes are random, not a fixed alphabet slice)', () => {
  const digits = new Set(generateRecoveryCodes(100).join('').replace(/-/g, ''));
  assert.equal(digits.size, 16);
});

test('generateRecoveryCodes refuses silly counts', () => {
  for (const n of [0, -1, 1.5, 101, Number.NaN]) assert.throws(() => generateRecoveryCodes(n), RangeError, String(n));
  assert.equal(generateRecoveryCodes(1).length, 1);
});

test('normalizeRecoveryCode ignores case, spaces and dashes', () => {
  const cases = [
    'abcd-ef01-2345',
    'ABCD-EF01-2345',
    'abcdef012345',
    'abcd ef01 2345',
    ' AbCd-Ef01 - 2345 ',
    'ab-cd-ef-01-23-45',
    'abcd--ef01--2345\n',
  ];
  for (const input of cases) assert.equal(normalizeRecoveryCode(input), 'abcdef012345', JSON.stringify(input));
});

test('a generated code normalizes and formats back to itself', () => {
  for (const code of generateRecoveryCodes(10)) {
    const canonical = normalizeRecoveryCode(code);
    assert.ok(canonical);
    assert.equal(formatRecoveryCode(canonical), code);
  }
});

test('normalizeRecoveryCode refuses anything that is not 12 hex digits', () => {
  const bad = [
    '',
    'abcd-ef01-234',
    'abcd-ef01-23456',
    'abcd-ef01-234g',
    'abcd_ef01_2345',
    'abcd.ef01.2345',
    'ａｂｃｄ-ef01-2345',
    `abcdef012345${' '.repeat(60)}`,
  ];
  for (const input of bad) assert.equal(normalizeRecoveryCode(input), null, JSON.stringify(input));
  for (const input of [123456789012, null, undefined, {}, ['abcdef012345']] as unknown[]) {
    assert.equal(normalizeRecoveryCode(input as string), null, String(input));
  }
});

test('formatRecoveryCode refuses non-canonical input', () => {
  assert.throws(() => formatRecoveryCode('ABCDEF012345'), TypeError);
  assert.throws(() => formatRecoveryCode('abcd-ef01-2345'), TypeError);
});
