import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePhone } from '../../src/two-factor/factors/phone.js';

test('valid US, UK and German numbers in common notations become E.164', () => {
  const cases: [string, string][] = [
    ['+1 650 253 0000', '+16502530000'],
    ['+1 (650) 253-0000', '+16502530000'],
    ['+1.650.253.0000', '+16502530000'],
    ['  +16502530000  ', '+16502530000'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+44 (0)20 7946 0958', '+442079460958'],
    ['+44 7911 123456', '+447911123456'],
    ['+49 30 901820', '+4930901820'],
    ['+49 (0)30 901820', '+4930901820'],
    ['+49 1512 3456789', '+4915123456789'],
    ['+49-151-23456789', '+4915123456789'],
  ];
  for (const [input, e164] of cases) assert.equal(normalizePhone(input), e164, input);
});

test('numbers without a country code are refused, not guessed', () => {
  for (const input of [
    '650 253 0000',
    '(650) 253-0000',
    '020 7946 0958',
    '0151 23456789',
    '0049 151 23456789',
    '16502530000',
  ]) {
    assert.equal(normalizePhone(input), null, input);
  }
});

test('invalid, lettered and over-long input is refused', () => {
  const bad = [
    '',
    '+',
    '+1',
    '+1 650',
    '+1 000 000 0000',
    '+44 20 7946',
    '+49 12',
    '+999 1234 5678',
    '+1 800 FLOWERS',
    '+1 650 253 0000 ext. 12',
    '+1 650 253 0000;ext=12',
    'tel:+16502530000',
    'phone',
    '+1 650 253 0000 0000 0000 0000 00',
    `+1${'0'.repeat(40)}`,
    '+1 650 253 0000\n+44 20 7946 0958',
    '++16502530000',
  ];
  for (const input of bad) assert.equal(normalizePhone(input), null, JSON.stringify(input));
});

test('non-strings are refused', () => {
  for (const input of [16502530000, null, undefined, {}, ['+16502530000']] as unknown[]) {
    assert.equal(normalizePhone(input as string), null, String(input));
  }
});
