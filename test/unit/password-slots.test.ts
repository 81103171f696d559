/**
 * Threat: a burst of sign-ins (or an attacker's password guesses) starting more
 * argon2 hashes than there are cores. Each holds 19 MiB; beyond one per core
 * they add memory and no throughput. The burst must run at most `slots` at a
 * time, and every call must still get its own right answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, passwordHashLoad, verifyPassword } from '../../src/users/passwords.js';

test('a burst of verifications runs at most one hash per core at a time, and each gets its answer', async () => {
  const stored = await hashPassword('right password');
  const { slots } = passwordHashLoad();
  let peak = 0;
  let sawQueue = false;
  let done = false;
  const watch = (async () => {
    while (!done) {
      const load = passwordHashLoad();
      peak = Math.max(peak, load.running);
      sawQueue ||= load.waiting > 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const guesses = Array.from({ length: slots * 3 + 1 }, (_, i) => (i % 2 === 0 ? 'right password' : `wrong ${i}`));
  const answers = await Promise.all(guesses.map((g) => verifyPassword(stored, g)));
  done = true;
  await watch;
  assert.deepEqual(
    answers,
    guesses.map((g) => g === 'right password'),
  );
  assert.equal(peak, slots, `peak ${peak} running hashes, ${slots} slots`);
  assert.ok(sawQueue, 'the rest of the burst waited');
  assert.deepEqual(passwordHashLoad(), { running: 0, waiting: 0, slots });
});
