/**
 * The SendGrid sender against a real local HTTP server speaking SendGrid's
 * Mail Send API: the real @sendgrid/mail client runs, nothing is mocked.
 * Threats covered: a provider outage must not hang a sign-in (deadline per
 * attempt, one retry), a permanent error must not be hammered, and neither the
 * API key nor the code may leak into logs or the error the caller sees.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { SendgridEmailSender } from '../../src/senders/sendgrid.js';
import { DeliveryError } from '../../src/senders/types.js';
import type { EmailMessage } from '../../src/senders/types.js';
import { FakeSendgrid } from '../helpers/fake-sendgrid.js';
import { captureLogger } from '../helpers/log-capture.js';
import type { CapturedLogger } from '../helpers/log-capture.js';

const API_KEY = 'SG.fake-key.7bq2Xk9SecretPart';
const CODE = '482913';
const message: EmailMessage = {
  to: 'alice@example.com',
  subject: 'Your Acme sign-in code',
  text: `Use this code: ${CODE}`,
  html: `<p>Use this code: <b>${CODE}</b></p>`,
};

describe('SendgridEmailSender', () => {
  let fake: FakeSendgrid;
  let log: CapturedLogger;

  before(async () => {
    fake = await FakeSendgrid.start({ apiKey: API_KEY });
  });
  after(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    log = captureLogger();
  });

  const sender = (overrides: Partial<ConstructorParameters<typeof SendgridEmailSender>[0]> = {}) =>
    new SendgridEmailSender({
      apiKey: API_KEY,
      from: 'security@acme.test',
      apiUrl: fake.url,
      // Generous for the answers that must arrive; the hang tests pass their own short deadline.
      timeoutMs: 5_000,
      retryDelayMs: 0,
      logger: log.logger,
      ...overrides,
    });

  function assertNoSecretsLogged(error?: unknown): void {
    const everything = log.text() + (error instanceof Error ? `${error.message} ${String(error.stack)}` : '');
    assert.ok(!everything.includes(API_KEY), 'API key leaked');
    assert.ok(!everything.includes('SecretPart'), 'part of the API key leaked');
    assert.ok(!everything.includes(CODE), 'code leaked');
  }

  test('sends one Mail Send request with Bearer auth, recipient, sender and the code', async () => {
    await sender().send(message);

    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/v3/mail/send');
    assert.equal(request?.headers.authorization, `Bearer ${API_KEY}`);
    assert.match(String(request?.headers['content-type']), /^application\/json/);
    assert.deepEqual(fake.mails(), [
      {
        to: ['alice@example.com'],
        from: 'security@acme.test',
        subject: message.subject,
        text: message.text,
        html: message.html,
      },
    ]);
    const body = request?.body as { tracking_settings?: unknown };
    assert.deepEqual(body.tracking_settings, {
      click_tracking: { enable: false, enable_text: false },
      open_tracking: { enable: false },
    });
    assert.equal(log.raw.length, 0, 'a clean send logs nothing');
  });

  test('a 500 is retried once and the second attempt delivers', async () => {
    fake.failNext(1, 500);
    await sender().send(message);
    assert.equal(fake.requests.length, 2);
    const warn = log.lines().find((l) => l.msg === 'delivery attempt failed, retrying');
    assert.equal(warn?.httpStatus, 500);
    assert.equal(warn?.provider, 'sendgrid');
    assertNoSecretsLogged();
  });

  test('a 429 is retried once', async () => {
    fake.failNext(1, 429, { errors: [{ message: 'too many requests' }] });
    await sender().send(message);
    assert.equal(fake.requests.length, 2);
  });

  test('a dropped connection is retried once', async () => {
    fake.resetNext(1);
    await sender().send(message);
    assert.equal(fake.requests.length, 2);
  });

  test('a provider that keeps failing gives DeliveryError after exactly 2 attempts', async () => {
    fake.failNext(5, 503, { errors: [{ message: `upstream echoed ${API_KEY} and ${CODE}` }] });
    const error = await sender()
      .send(message)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.message, 'email delivery via sendgrid failed after 2 attempts (HTTP 503)');
    assert.equal(error.cause, undefined, 'no provider error (with its request config) travels up');
    assert.equal(fake.requests.length, 2);
    const failed = log.lines().find((l) => l.msg === 'delivery failed');
    assert.equal(failed?.level, 50);
    assert.equal(failed?.attempt, 2);
    assertNoSecretsLogged(error);
  });

  test('a 400 is not retried', async () => {
    fake.failNext(1, 400, {
      errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to' }],
    });
    await assert.rejects(sender().send(message), DeliveryError);
    assert.equal(fake.requests.length, 1);
    const failed = log.lines().find((l) => l.msg === 'delivery failed');
    assert.equal(failed?.reason, 'personalizations.0.to: Does not contain a valid address.');
  });

  test('a wrong API key (401 from the provider) is not retried and is not logged', async () => {
    const wrongKey = 'SG.wrong-key.ZZtopSecret';
    const error = await sender({ apiKey: wrongKey })
      .send(message)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(error instanceof DeliveryError);
    assert.equal(fake.requests.length, 1);
    assert.ok(!log.text().includes('ZZtopSecret'));
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
    // The client really closed both connections rather than leaving them open.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      fake.requests.map((r) => r.aborted),
      [true, true],
    );
    assertNoSecretsLogged(error);
  });

  test('an unreachable provider gives DeliveryError after 2 attempts', async () => {
    const gone = await FakeSendgrid.start({ apiKey: API_KEY });
    const url = gone.url;
    await gone.stop();
    const error = await sender({ apiUrl: url })
      .send(message)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(error instanceof DeliveryError);
    assert.match(error.message, /after 2 attempts \(network error\)/);
    const attempts = log.lines().filter((l) => l.providerCode === 'ECONNREFUSED');
    assert.equal(attempts.length, 2);
  });

  test('concurrent sends do not share request state', async () => {
    const recipients = ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com'];
    await Promise.all(recipients.map((to) => sender().send({ ...message, to })));
    assert.deepEqual(
      fake
        .mails()
        .flatMap((m) => m.to)
        .sort(),
      recipients,
    );
  });
});
