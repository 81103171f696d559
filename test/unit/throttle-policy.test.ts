import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chargeAttempt,
  delayFor,
  IP_POLICY,
  PAIR_POLICY,
  type ThrottlePolicy,
  type ThrottleState,
} from '../../src/auth/throttle-policy.js';

const policy: ThrottlePolicy = { threshold: 3, firstDelay: 10, maxDelay: 100, forgetAfter: 60 };
const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);
const fresh = (now: Date): ThrottleState => ({ failures: 0, blockedUntil: null, forgetAt: now });

test('the defaults: 5 per pair, 50 per address, 1 minute doubling to 1 hour, forgotten after 15 minutes', () => {
  assert.deepEqual(PAIR_POLICY, { threshold: 5, firstDelay: 60, maxDelay: 3600, forgetAfter: 900 });
  assert.equal(IP_POLICY.threshold, 50);
  assert.deepEqual(
    [4, 5, 6, 7, 11, 12, 1000].map((n) => delayFor(PAIR_POLICY, n)),
    [null, 60, 120, 240, 3600, 3600, 3600],
  );
});

test('the attempt that reaches the threshold starts the delay; during it every attempt is refused', () => {
  let s = fresh(at(0));
  const delays: Array<number | null> = [];
  for (let i = 0; i < 3; i++) {
    const c = chargeAttempt(policy, s, at(i));
    assert.ok(c.allowed);
    delays.push(c.delay);
    s = c.next;
  }
  assert.deepEqual(delays, [null, null, 10]);
  assert.deepEqual(s.blockedUntil, at(12));
  assert.deepEqual(chargeAttempt(policy, s, at(3)), { allowed: false, retryAfter: 9 });
  assert.deepEqual(chargeAttempt(policy, s, at(11.2)), { allowed: false, retryAfter: 1 }, 'rounded up, never 0');
  const next = chargeAttempt(policy, s, at(12));
  assert.ok(next.allowed);
  assert.equal(next.delay, 20, 'doubled');
});

test('failures are forgotten forgetAfter seconds after the later of the last failure and the end of the delay', () => {
  const s: ThrottleState = { failures: 7, blockedUntil: at(100), forgetAt: at(160) };
  const soon = chargeAttempt(policy, s, at(159));
  assert.ok(soon.allowed && soon.next.failures === 8);
  const later = chargeAttempt(policy, s, at(160));
  assert.ok(later.allowed && later.next.failures === 1 && later.delay === null && later.next.blockedUntil === null);
  assert.deepEqual(later.next.forgetAt, at(220));
});

test('the exponent is capped, so a huge count still gives the maximum', () => {
  assert.equal(delayFor(policy, Number.MAX_SAFE_INTEGER), 100);
});
