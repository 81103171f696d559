import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCodeInput, randomOtpCode } from '../../src/two-factor/factors/otp-code.js';

test('randomOtpCode: always six digits, zero-padded, and spread over the whole range', () => {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 20_000; i++) {
    const code = randomOtpCode();
    assert.match(code, /^[0-9]{6}$/);
    const first = Number(code[0]);
    counts[first] = (counts[first] ?? 0) + 1;
  }
  // The leading digit is 0 in a tenth of codes only if padding works; ~2000 each, far from the bounds.
  for (const [digit, n] of counts.entries()) assert.ok(n > 1500 && n < 2500, `leading ${digit}: ${n}`);
});

test('normalizeCodeInput: six-digit strings pass unchanged, leading zeros kept', () => {
  assert.equal(normalizeCodeInput('123456'), '123456');
  assert.equal(normalizeCodeInput('000123'), '000123');
});

test('normalizeCodeInput: whitespace is ignored', () => {
  assert.equal(normalizeCodeInput('123 456'), '123456');
  assert.equal(normalizeCodeInput(' 123456 '), '123456');
  assert.equal(normalizeCodeInput('1 2 3\t4 5 6\n'), '123456');
});

test('normalizeCodeInput: JSON numbers are zero-padded', () => {
  assert.equal(normalizeCodeInput(123456), '123456');
  assert.equal(normalizeCodeInput(12345), '012345');
  assert.equal(normalizeCodeInput(0), '000000');
  assert.equal(normalizeCodeInput(999999), '999999');
  assert.equal(normalizeCodeInput(JSON.parse('{"code": 7}').code), '000007');
});

test('normalizeCodeInput: everything else is null', () => {
  const bad: unknown[] = [
    '',
    '12345',
    '1234567',
    'abcdef',
    '12345a',
    '123-456',
    '12.345',
    '+12345',
    '１２３４５６',
    '١٢٣٤٥٦',
    1_000_000,
    1234567,
    -1,
    -123456,
    1.5,
    12345.6,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    true,
    false,
    null,
    undefined,
    {},
    [],
    ['123456'],
    { code: '123456' },
    123456n,
    `${'1'.repeat(6)}${' '.repeat(100)}`,
  ];
  for (const value of bad) assert.equal(normalizeCodeInput(value), null, String(value));
});
