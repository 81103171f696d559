/**
 * The Twilio sender against a real local HTTP server speaking Twilio's
 * Messages API: the real twilio client runs, only its host is redirected.
 * Threats covered: an SMS outage must not hang a sign-in, a permanent error
 * (bad number, bad credentials) must not be retried, and neither the auth
 * token nor the code may reach the log or the caller's error.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { TwilioSmsSender } from '../../src/senders/twilio.js';
import { DeliveryError } from '../../src/senders/types.js';
import type { SmsMessage } from '../../src/senders/types.js';
import { FakeTwilio } from '../helpers/fake-twilio.js';
import { captureLogger } from '../helpers/log-capture.js';
import type { CapturedLogger } from '../helpers/log-capture.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'tok-3f9a8bSecretToken';
const CODE = '739104';
const message: SmsMessage = { to: '+15005550006', text: `${CODE} is your Acme code.` };

describe('TwilioSmsSender', () => {
  let fake: FakeTwilio;
  let log: CapturedLogger;

  before(async () => {
    fake = await FakeTwilio.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  });
  after(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    log = captureLogger();
  });

  const sender = (overrides: Partial<ConstructorParameters<typeof TwilioSmsSender>[0]> = {}) =>
    new TwilioSmsSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: '+15005550001',
      apiUrl: fake.url,
      // Generous for the answers that must arrive; the hang tests pass their own short deadline.
      timeoutMs: 5_000,
      retryDelayMs: 0,
      logger: log.logger,
      ...overrides,
    });

  function assertNoSecretsLogged(error?: unknown): void {
    const everything = log.text() + (error instanceof Error ? `${error.message} ${String(error.stack)}` : '');
    assert.ok(!everything.includes(AUTH_TOKEN), 'auth token leaked');
    assert.ok(!everything.includes(CODE), 'code leaked');
  }

  test('posts To, From and Body form-encoded to the Messages resource with Basic auth', async () => {
    await sender().send(message);

    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    const expectedAuth = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
    assert.equal(request?.headers.authorization, expectedAuth);
    assert.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(fake.messages(), [
      { to: '+15005550006', from: '+15005550001', messagingServiceSid: undefined, body: message.text },
    ]);
    assert.equal(log.raw.length, 0, 'a clean send logs nothing');
  });

  test('a Messaging Service SID as PHONE_NUMBER is sent as MessagingServiceSid', async () => {
    const service = 'MG0123456789abcdef0123456789abcdef';
    await sender({ from: service }).send(message);
    assert.deepEqual(fake.messages(), [
      { to: '+15005550006', from: undefined, messagingServiceSid: service, body: message.text },
    ]);
  });

  test('an API URL with a path prefix keeps the prefix', async () => {
    await assert.rejects(sender({ apiUrl: `${fake.url}/proxy/twilio/` }).send(message), DeliveryError);
    assert.equal(fake.requests[0]?.path, `/proxy/twilio/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
  });

  test('a 500 is retried once and the second attempt delivers', async () => {
    fake.failNext(1, 500, { code: 20500, message: 'Internal Server Error', status: 500 });
    await sender().send(message);
    assert.equal(fake.requests.length, 2);
    const warn = log.lines().find((l) => l.msg === 'delivery attempt failed, retrying');
    assert.equal(warn?.httpStatus, 500);
    assert.equal(warn?.providerCode, 20500);
    assertNoSecretsLogged();
  });

  test("a 429 is retried once (twilio's own auto-retry stays off)", async () => {
    fake.failNext(1, 429, { code: 20429, message: 'Too Many Requests', status: 429 });
    await sender().send(message);
    assert.equal(fake.requests.length, 2);
  });

  test('a provider that keeps failing gives DeliveryError after exactly 2 attempts', async () => {
    fake.failNext(5, 503, { code: 20503, message: `echo ${AUTH_TOKEN} ${CODE}`, status: 503 });
    const error = await sender()
      .send(message)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.message, 'sms delivery via twilio failed after 2 attempts (HTTP 503)');
    assert.equal(fake.requests.length, 2);
    assertNoSecretsLogged(error);
  });

  test('an invalid number (400, code 21211) is not retried', async () => {
    const error = await sender()
      .send({ ...message, to: '5550006' })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(error instanceof DeliveryError);
    assert.equal(fake.requests.length, 1);
    const failed = log.lines().find((l) => l.msg === 'delivery failed');
    assert.equal(failed?.httpStatus, 400);
    assert.equal(failed?.providerCode, 21211);
    assert.equal(failed?.transient, false);
  });

  test('wrong credentials (401) are not retried and the token is not logged', async () => {
    const error = await sender({ authToken: 'wrong-token-XYZsecret' })
      .send(message)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(error instanceof DeliveryError);
    assert.equal(fake.requests.length, 1);
    assert.ok(!log.text().includes('XYZsecret'));
    assertNoSecretsLogged(error);
  });

  test('a hanging provider is abandoned at the deadline of each attempt', async () => {
    fake.hangNext(2);
    const started = Date.now();
    const error = await sender({ timeoutMs: 300 })
      .send(message)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    const elapsed = Date.now() - started;
    assert.ok(error instanceof DeliveryError);
    assert.match(error.message, /after 2 attempts \(timeout\)/);
    assert.equal(fake.requests.length, 2);
    // Upper bounds only prove the sender gave up; they are loose because CI machines are shared.
    assert.ok(elapsed >= 600 && elapsed < 6_000, `took ${elapsed} ms`);
    // twilio's own socket timeout (same value) closes the connection; nothing is left open.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      fake.requests.map((r) => r.aborted),
      [true, true],
    );
    assertNoSecretsLogged(error);
  });

  test('a dropped connection is retried once', async () => {
    fake.resetNext(1);
    await sender().send(message);
    assert.equal(fake.requests.length, 2);
  });
});
