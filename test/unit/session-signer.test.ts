import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Signer } from '@fastify/cookie';
import { createSessionSigner } from '../../src/http/session-signer.js';

const secret = randomBytes(32).toString('base64url');

test('signs exactly like @fastify/cookie, so existing cookies stay valid', () => {
  const ours = createSessionSigner(secret);
  const theirs = new Signer(secret, 'sha256');
  for (let i = 0; i < 50; i++) {
    const id = randomBytes(32).toString('base64url');
    const signed = theirs.sign(id);
    assert.equal(ours.sign(id), signed);
    assert.equal(ours.unsign(signed), id);
    assert.deepEqual(theirs.unsign(ours.sign(id)), { valid: true, renew: false, value: id });
  }
});

test('refuses what @fastify/cookie refuses', () => {
  const ours = createSessionSigner(secret);
  const theirs = new Signer(secret, 'sha256');
  const id = randomBytes(32).toString('base64url');
  const good = theirs.sign(id);
  const other = new Signer(randomBytes(32).toString('base64url'), 'sha256').sign(id);
  for (const bad of [
    id,
    `${id}.`,
    `${good}x`,
    good.slice(0, -1),
    other,
    `${id}.${'A'.repeat(43)}`,
    '',
    '.',
    `${good}=`,
  ]) {
    assert.equal(theirs.unsign(bad).valid, false, bad);
    assert.equal(ours.unsign(bad), null, bad);
  }
});

test('a remembered id still refuses any other signature, and forged cookies are not remembered', () => {
  const ours = createSessionSigner(secret);
  const theirs = new Signer(secret, 'sha256');
  const id = randomBytes(24).toString('base64url');
  const good = theirs.sign(id);
  assert.equal(ours.unsign(good), id);
  // Now remembered: every altered signature is still refused.
  const mac = good.slice(good.lastIndexOf('.') + 1);
  for (let i = 0; i < mac.length; i++) {
    const flipped = mac.slice(0, i) + (mac[i] === 'A' ? 'B' : 'A') + mac.slice(i + 1);
    assert.equal(ours.unsign(`${id}.${flipped}`), null, `position ${i}`);
  }
  assert.equal(ours.unsign(`${id}.${mac}A`), null);
  assert.equal(ours.unsign(`${id}.${mac.slice(0, -1)}`), null);
  assert.equal(ours.unsign(good), id);
  // Thousands of forged cookies for new ids leave the genuine one verifiable and refuse each forgery.
  for (let i = 0; i < 12_000; i++) assert.equal(ours.unsign(`forged-${i}.${'A'.repeat(43)}`), null);
  assert.equal(ours.unsign(good), id);
  assert.equal(ours.sign(id), good);
});
