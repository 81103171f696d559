import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { createKeyedHasher, randomToken, safeEqual } from '../../src/crypto/keyed-hash.js';

const KEY = 'secret-key-0123456789abcdef';

test('hash is deterministic, base64url of a 256-bit MAC, and does not contain the value', () => {
  const h = createKeyedHasher(KEY);
  const a = h.hash('session', 'abc123');
  assert.equal(a, h.hash('session', 'abc123'));
  assert.equal(a, createKeyedHasher(KEY).hash('session', 'abc123'));
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, h.hash('session', 'abc124'));
});

test('hash is HMAC-SHA256 under an HKDF sub-key per purpose (pinned, so stored hashes stay valid)', () => {
  const subKey = Buffer.from(hkdfSync('sha256', KEY, Buffer.alloc(0), 'tfa-service keyed-hash v1 otp', 32));
  const expected = createHmac('sha256', subKey).update('123456').digest('base64url');
  assert.equal(createKeyedHasher(KEY).hash('otp', '123456'), expected);
});

test('purposes are separated: the same value hashes differently per purpose', () => {
  const h = createKeyedHasher(KEY);
  const purposes = ['session', 'otp', 'recovery-code', 'device'];
  const hashes = new Set(purposes.map((p) => h.hash(p, 'same-value')));
  assert.equal(hashes.size, purposes.length);
});

test('different secret keys give different hashes', () => {
  assert.notEqual(createKeyedHasher(KEY).hash('otp', '123456'), createKeyedHasher(KEY + 'x').hash('otp', '123456'));
});

test('hashParts binds context unambiguously', () => {
  const h = createKeyedHasher(KEY);
  assert.equal(h.hashParts('otp', ['123456', 'p1', 'a@b.c']), h.hashParts('otp', ['123456', 'p1', 'a@b.c']));
  assert.notEqual(h.hashParts('otp', ['123456', 'p1', 'a@b.c']), h.hashParts('otp', ['123456', 'p1', 'a@b.d']));
  // Naive concatenation would make these two collide.
  assert.notEqual(h.hashParts('otp', ['ab', 'c']), h.hashParts('otp', ['a', 'bc']));
  assert.notEqual(h.hashParts('otp', ['a,b']), h.hashParts('otp', ['a', 'b']));
});

test('short keys and malformed purposes are refused', () => {
  assert.throws(() => createKeyedHasher(''), /at least 16/);
  assert.throws(() => createKeyedHasher('too-short'), /at least 16/);
  const h = createKeyedHasher(KEY);
  for (const bad of ['', 'Session', 'has space', 'x'.repeat(65)]) {
    assert.throws(() => h.hash(bad, 'v'), /purpose/, bad);
  }
});

test('randomToken: base64url of the requested size, unique', () => {
  assert.match(randomToken(), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(randomToken(16), 'base64url').length, 16);
  const seen = new Set(Array.from({ length: 1000 }, () => randomToken()));
  assert.equal(seen.size, 1000);
  for (const bad of [0, 8, 15, 1.5, 2048, Number.NaN]) assert.throws(() => randomToken(bad), RangeError, String(bad));
});

test('safeEqual compares strings exactly, including different lengths', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('', ''), true);
  assert.equal(safeEqual('abc', 'abd'), false);
  assert.equal(safeEqual('abc', 'abcd'), false);
  assert.equal(safeEqual('abc', ''), false);
  assert.equal(safeEqual('é', 'e\u0301'), false);
});

test('memoized: the same hashes as hash(), one function per purpose, bounded, purposes checked at once', () => {
  const h = createKeyedHasher('k'.repeat(32));
  const memo = h.memoized('session-id');
  assert.equal(h.memoized('session-id'), memo, 'one memo per purpose');
  for (const v of ['a', 'b', 'a', 'ü'.repeat(3)]) assert.equal(memo(v), h.hash('session-id', v));
  assert.notEqual(h.memoized('csrf')('a'), memo('a'), 'purposes stay separated');
  // Past 10,000 values the oldest is forgotten and recomputed: still the right hash.
  for (let i = 0; i < 10_050; i++) memo(`id-${i}`);
  assert.equal(memo('id-0'), h.hash('session-id', 'id-0'));
  assert.throws(() => h.memoized('Not A Purpose'), /invalid keyed-hash purpose/);
});
