import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretBox, SecretBoxError } from '../../src/crypto/secret-box.js';

const K1 = 'first-key-0123456789abcdef';
const K2 = 'second-key-0123456789abcdef';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

test('roundtrip: decrypt gives back the plaintext; the box has the documented shape', () => {
  const box = createSecretBox({ '1': K1 });
  const sealed = box.encrypt(SECRET, '42');
  assert.match(sealed, /^v1\.1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes(SECRET));
  assert.equal(box.decrypt(sealed, '42'), SECRET);
});

test('each encryption uses a fresh IV', () => {
  const box = createSecretBox({ '1': K1 });
  assert.notEqual(box.encrypt(SECRET, '42'), box.encrypt(SECRET, '42'));
});

test('a box moved to another user (other AAD) does not open', () => {
  const box = createSecretBox({ '1': K1 });
  const sealed = box.encrypt(SECRET, '42');
  assert.throws(() => box.decrypt(sealed, '43'), SecretBoxError);
  assert.throws(() => box.decrypt(sealed, ''), SecretBoxError);
});

test('any flipped character in IV or ciphertext is detected', () => {
  const box = createSecretBox({ '1': K1 });
  const sealed = box.encrypt(SECRET, '42');
  const headerLength = 'v1.1.'.length;
  for (let i = headerLength; i < sealed.length; i++) {
    const c = sealed[i];
    if (c === '.') continue;
    const tampered = sealed.slice(0, i) + (c === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
    assert.throws(() => box.decrypt(tampered, '42'), SecretBoxError, `position ${i}`);
  }
});

test('truncated, extended or malformed boxes are refused with SecretBoxError', () => {
  const box = createSecretBox({ '1': K1 });
  const sealed = box.encrypt(SECRET, '42');
  for (const bad of [
    '',
    'v1',
    sealed.slice(0, -4),
    sealed + 'AAAA',
    sealed + '.x',
    sealed.replace('v1.', 'v2.'),
    'v1.1.!!!.???',
  ]) {
    assert.throws(() => box.decrypt(bad, '42'), SecretBoxError, JSON.stringify(bad));
  }
});

test('the key tag in the header is authenticated: relabelling a box fails', () => {
  const box = createSecretBox({ '1': K1, '2': K1 });
  const sealed = box.encrypt(SECRET, '42');
  assert.ok(sealed.startsWith('v1.2.'));
  assert.throws(() => box.decrypt(sealed.replace('v1.2.', 'v1.1.'), '42'), SecretBoxError);
});

test('rotation: old boxes open with the new key set, flag needsRotation, re-encrypt under the highest tag', () => {
  const old = createSecretBox({ '1': K1 });
  const sealed = old.encrypt(SECRET, '42');
  assert.equal(old.needsRotation(sealed), false);

  const rotated = createSecretBox({ '1': K1, '2': K2 });
  assert.equal(rotated.currentTag, '2');
  assert.equal(rotated.decrypt(sealed, '42'), SECRET);
  assert.equal(rotated.needsRotation(sealed), true);

  const resealed = rotated.encrypt(rotated.decrypt(sealed, '42'), '42');
  assert.ok(resealed.startsWith('v1.2.'));
  assert.equal(rotated.needsRotation(resealed), false);
  assert.equal(createSecretBox({ '2': K2 }).decrypt(resealed, '42'), SECRET);
});

test('highest tag is chosen numerically, not by string order or insertion order', () => {
  const box = createSecretBox({ '10': K2, '9': K1, '2': K1 });
  assert.equal(box.currentTag, '10');
  assert.ok(box.encrypt(SECRET, '1').startsWith('v1.10.'));
});

test('a box sealed with a tag that is no longer configured gives a clear error', () => {
  const sealed = createSecretBox({ '1': K1, '2': K2 }).encrypt(SECRET, '42');
  const withoutTwo = createSecretBox({ '1': K1 });
  assert.throws(
    () => withoutTwo.decrypt(sealed, '42'),
    (err: unknown) => {
      assert.ok(err instanceof SecretBoxError);
      assert.match(err.message, /key tag "2"/);
      return true;
    },
  );
});

test('same tag but a different secret does not open the box', () => {
  const sealed = createSecretBox({ '1': K1 }).encrypt(SECRET, '42');
  assert.throws(() => createSecretBox({ '1': K2 }).decrypt(sealed, '42'), SecretBoxError);
});

test('bad key maps are refused at creation', () => {
  assert.throws(() => createSecretBox({}), /at least one key/);
  assert.throws(() => createSecretBox({ one: K1 }), /not a plain number/);
  assert.throws(() => createSecretBox({ '01': K1 }), /not a plain number/);
  assert.throws(() => createSecretBox({ '-1': K1 }), /not a plain number/);
  assert.throws(() => createSecretBox({ '1': 'short' }), /at least 16 characters/);
  assert.throws(() => createSecretBox({ '1': 5 as unknown as string }), /at least 16 characters/);
});

test('unicode plaintext and AAD survive the roundtrip', () => {
  const box = createSecretBox({ '3': K1 });
  assert.equal(box.decrypt(box.encrypt('gé 秘密', 'ü-7'), 'ü-7'), 'gé 秘密');
});
