/**
 * Choosing providers by name (Flask-Security's SmsSenderFactory): a bad or
 * incomplete configuration must stop the service at start with a clear
 * message that never repeats a secret; a good one delivers through the real
 * provider clients to the local fakes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FixedClock } from '../../src/clock.js';
import { LogEmailSender, LogSmsSender } from '../../src/senders/log.js';
import {
  builtinProviders,
  createSenders,
  validateSendersConfig,
  withEmailProvider,
  withSmsProvider,
} from '../../src/senders/registry.js';
import type { SendersConfig } from '../../src/senders/registry.js';
import { SendgridEmailSender } from '../../src/senders/sendgrid.js';
import { TwilioSmsSender } from '../../src/senders/twilio.js';
import type { EmailMessage, SmsMessage } from '../../src/senders/types.js';
import { FakeSendgrid } from '../helpers/fake-sendgrid.js';
import { FakeTwilio } from '../helpers/fake-twilio.js';
import { captureLogger } from '../helpers/log-capture.js';

const API_KEY = 'SG.registry-test.KeySecretValue';
const TWILIO = {
  ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
  AUTH_TOKEN: 'TokenSecretValue',
  PHONE_NUMBER: '+15005550001',
};
const base: SendersConfig = { emailService: 'log', smsService: 'log', emailSender: 'security@acme.test' };
const deps = () => ({ logger: captureLogger().logger, clock: new FixedClock(new Date('2030-01-01T00:00:00Z')) });

describe('createSenders', () => {
  test('defaults to the log channel for both', () => {
    const senders = createSenders(base, deps());
    assert.ok(senders.email instanceof LogEmailSender);
    assert.ok(senders.sms instanceof LogSmsSender);
  });

  test('builds SendGrid and Twilio senders, names matched case-insensitively', () => {
    const senders = createSenders(
      { ...base, emailService: 'SendGrid', smsService: 'Twilio', sendgridApiKey: API_KEY, smsServiceConfig: TWILIO },
      deps(),
    );
    assert.ok(senders.email instanceof SendgridEmailSender);
    assert.ok(senders.sms instanceof TwilioSmsSender);
  });

  test('an unknown service name fails with the known names', () => {
    assert.throws(() => createSenders({ ...base, emailService: 'mailgun' }, deps()), {
      message: 'Invalid delivery configuration: EMAIL_SERVICE "mailgun" is not a known service (known: log, sendgrid)',
    });
    assert.throws(
      () => createSenders({ ...base, smsService: 'vonage' }, deps()),
      /SECURITY_SMS_SERVICE "vonage" is not a known service/,
    );
  });

  test('missing credentials for the chosen provider fail at creation', () => {
    assert.throws(
      () => createSenders({ ...base, emailService: 'sendgrid' }, deps()),
      /SENDGRID_API_KEY is required when EMAIL_SERVICE=sendgrid/,
    );
    assert.throws(
      () => createSenders({ ...base, smsService: 'twilio' }, deps()),
      /SECURITY_SMS_SERVICE_CONFIG with ACCOUNT_SID, AUTH_TOKEN and PHONE_NUMBER is required/,
    );
  });

  test('a custom provider can be registered and chosen by name', async () => {
    const sentMail: EmailMessage[] = [];
    const sentSms: SmsMessage[] = [];
    const table = withSmsProvider(
      withEmailProvider(builtinProviders, 'Recording', () => ({ send: async (m) => void sentMail.push(m) })),
      'recording',
      () => ({ send: async (m) => void sentSms.push(m) }),
      (cfg) => (cfg.outboxFile === 'forbidden' ? ['recording refuses this outbox'] : []),
    );
    const senders = createSenders({ ...base, emailService: 'recording', smsService: 'RECORDING' }, deps(), table);
    await senders.email.send({ to: 'a@example.com', subject: 's', text: 't', html: 'h' });
    await senders.sms.send({ to: '+15005550006', text: 't' });
    assert.equal(sentMail.length, 1);
    assert.equal(sentSms.length, 1);
    assert.deepEqual(validateSendersConfig({ ...base, smsService: 'recording', outboxFile: 'forbidden' }, table), [
      'recording refuses this outbox',
    ]);
    // The built-in table is untouched: no module state changed.
    assert.equal(validateSendersConfig({ ...base, smsService: 'recording' }).length, 1);
  });
});

describe('validateSendersConfig', () => {
  test('a good configuration has no problems', () => {
    assert.deepEqual(validateSendersConfig(base), []);
    assert.deepEqual(
      validateSendersConfig({
        ...base,
        emailService: 'sendgrid',
        smsService: 'twilio',
        sendgridApiKey: API_KEY,
        sendgridApiUrl: 'https://api.eu.sendgrid.com/',
        smsServiceConfig: TWILIO,
        twilioApiUrl: 'http://127.0.0.1:9999',
      }),
      [],
    );
  });

  test('lists every problem, one sentence each, without repeating secrets', () => {
    const problems = validateSendersConfig({
      emailService: 'sendgrid',
      smsService: 'twilio',
      emailSender: 'not-an-address',
      sendgridApiKey: 'PastedTheWrongSecretValue',
      sendgridApiUrl: 'ftp://example.com',
      smsServiceConfig: { ACCOUNT_SID: 'SK123', AUTH_TOKEN: ' ', PHONE_NUMBER: '5550001' },
      twilioApiUrl: 'not a url',
      timeoutMs: -1,
    });
    assert.deepEqual(problems, [
      'the delivery timeout must be a positive whole number of milliseconds',
      'SENDGRID_API_KEY does not look like a SendGrid API key (it must start with "SG.")',
      'SECURITY_EMAIL_SENDER must be an e-mail address when EMAIL_SERVICE=sendgrid',
      'SENDGRID_API_URL must be an http(s) URL',
      'SECURITY_SMS_SERVICE_CONFIG.ACCOUNT_SID must be a Twilio Account SID (starting with "AC")',
      'SECURITY_SMS_SERVICE_CONFIG.AUTH_TOKEN is required',
      'SECURITY_SMS_SERVICE_CONFIG.PHONE_NUMBER must be an E.164 number such as +15005550006 (or a Messaging Service SID, MG…)',
      'TWILIO_API_URL must be an http(s) URL',
    ]);
    assert.ok(!problems.join(' ').includes('PastedTheWrongSecretValue'));
  });

  test('accepts a Messaging Service SID as PHONE_NUMBER', () => {
    const smsServiceConfig = { ...TWILIO, PHONE_NUMBER: 'MG0123456789abcdef0123456789abcdef' };
    assert.deepEqual(validateSendersConfig({ ...base, smsService: 'twilio', smsServiceConfig }), []);
  });
});

describe('createSenders end to end against the fake providers', () => {
  let sendgrid: FakeSendgrid;
  let twilio: FakeTwilio;
  before(async () => {
    sendgrid = await FakeSendgrid.start({ apiKey: API_KEY });
    twilio = await FakeTwilio.start({ accountSid: TWILIO.ACCOUNT_SID, authToken: TWILIO.AUTH_TOKEN });
  });
  after(async () => {
    await sendgrid.stop();
    await twilio.stop();
  });

  test('e-mail reaches SENDGRID_API_URL and SMS reaches TWILIO_API_URL', async () => {
    const log = captureLogger();
    const senders = createSenders(
      {
        ...base,
        emailService: 'sendgrid',
        smsService: 'twilio',
        sendgridApiKey: API_KEY,
        sendgridApiUrl: sendgrid.url,
        smsServiceConfig: TWILIO,
        twilioApiUrl: twilio.url,
        timeoutMs: 5_000,
      },
      { logger: log.logger, clock: new FixedClock() },
    );
    await senders.email.send({ to: 'bob@example.com', subject: 'Code', text: 'Code 111222', html: '<p>111222</p>' });
    await senders.sms.send({ to: '+15005550006', text: '333444 is your code' });
    assert.deepEqual(
      sendgrid.mails().map((m) => [m.to, m.from, m.text]),
      [[['bob@example.com'], 'security@acme.test', 'Code 111222']],
    );
    assert.deepEqual(
      twilio.messages().map((m) => [m.to, m.from, m.body]),
      [['+15005550006', '+15005550001', '333444 is your code']],
    );
    assert.equal(log.raw.length, 0);
  });

  test('the configured timeout is the per-attempt deadline', async () => {
    const senders = createSenders(
      { ...base, smsService: 'twilio', smsServiceConfig: TWILIO, twilioApiUrl: twilio.url, timeoutMs: 200 },
      { logger: captureLogger().logger, clock: new FixedClock() },
    );
    twilio.reset();
    twilio.hangNext(2);
    const started = Date.now();
    await assert.rejects(senders.sms.send({ to: '+15005550006', text: 'x' }), { name: 'DeliveryError' });
    const elapsed = Date.now() - started;
    // Upper bounds only prove the sender gave up; they are loose because CI machines are shared.
    assert.ok(elapsed >= 400 && elapsed < 6_000, `took ${elapsed} ms`);
    assert.equal(twilio.requests.length, 2);
  });
});
