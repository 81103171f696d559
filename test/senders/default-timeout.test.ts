/**
 * The one test that waits for the real SPEC §7 deadline: with no timeout
 * configured, a provider that never answers is given up on after 5 s per
 * attempt, 2 attempts, so a sign-in waits at most ~10.5 s for FAILED_TO_SEND_CODE.
 * It costs ~10 s of wall time; every other timing test uses a short,
 * configured timeout. Kept in its own file so the runner can overlap it with
 * the other files.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FixedClock } from '../../src/clock.js';
import { createSenders } from '../../src/senders/registry.js';
import { DEFAULT_TIMEOUT_MS } from '../../src/senders/retry.js';
import { DeliveryError } from '../../src/senders/types.js';
import { FakeSendgrid } from '../helpers/fake-sendgrid.js';
import { captureLogger } from '../helpers/log-capture.js';

const API_KEY = 'SG.default-timeout.test';
let fake: FakeSendgrid;
before(async () => {
  fake = await FakeSendgrid.start({ apiKey: API_KEY });
});
after(() => fake.stop());

test('a hanging provider gives DeliveryError after 2 × 5 s with the default timeout', { timeout: 20_000 }, async () => {
  assert.equal(DEFAULT_TIMEOUT_MS, 5_000);
  const senders = createSenders(
    {
      emailService: 'sendgrid',
      smsService: 'log',
      emailSender: 'security@acme.test',
      sendgridApiKey: API_KEY,
      sendgridApiUrl: fake.url,
    },
    { logger: captureLogger().logger, clock: new FixedClock() },
  );
  fake.hangNext(2);
  const started = Date.now();
  const error = await senders.email.send({ to: 'a@example.com', subject: 's', text: 't', html: 'h' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const elapsed = Date.now() - started;
  assert.ok(error instanceof DeliveryError);
  assert.equal(fake.requests.length, 2);
  // Lower bounds are exact (timers never fire early); upper bounds leave room for a
  // loaded shared machine while still proving the client gave up instead of hanging.
  assert.ok(elapsed >= 10_000 && elapsed <= 13_000, `took ${elapsed} ms`);
  const [first, second] = fake.requests;
  assert.ok(first && second);
  // The gap is read on the fake's side: a loaded machine may see the first request late
  // (seen: 4,860 ms), so its lower bound is looser than the client's own, checked above.
  const gap = second.receivedAt - first.receivedAt;
  assert.ok(gap >= 4_000 && gap < 7_000, `second attempt started ${gap} ms after the first`);
});
