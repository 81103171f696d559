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
    assert.deepEqual(ours.unsign(signed), { valid: true, renew: false, value: id });
    // The re-sign after a verified unsign hands back the same cookie.
    assert.equal(ours.sign(id), signed);
    assert.deepEqual(ours.unsign(ours.sign(id)), theirs.unsign(signed));
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
    assert.deepEqual(ours.unsign(bad), theirs.unsign(bad), bad);
    assert.equal(ours.unsign(bad).valid, false);
  }
});

test('a failed check remembers nothing, and the memory is bounded', () => {
  const ours = createSessionSigner(secret);
  const theirs = new Signer(secret, 'sha256');
  const id = randomBytes(32).toString('base64url');
  ours.unsign(`${id}.${'A'.repeat(43)}`);
  assert.equal(ours.sign(id), theirs.sign(id));
  for (let i = 0; i < 5000; i++) ours.unsign(theirs.sign(`id-${i}`));
  assert.equal(ours.sign('id-1'), theirs.sign('id-1'));
  assert.equal(ours.sign('id-4999'), theirs.sign('id-4999'));
});
