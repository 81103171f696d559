/**
 * The senders speak to SendGrid and Twilio with plain fetch (src/senders/http.ts),
 * so the production install carries no SDK. Threat: a hand-made request that
 * drifts from what the providers' own clients send (a field renamed, the
 * wrong auth scheme, tracking left on) would fail only in production. Here the
 * official @sendgrid/mail and twilio packages (devDependencies) send the same
 * message to the same local fake, and both requests must agree on method, path,
 * credentials, content type and body.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';
import { SendgridEmailSender } from '../../src/senders/sendgrid.js';
import { TwilioSmsSender } from '../../src/senders/twilio.js';
import { FakeSendgrid } from '../helpers/fake-sendgrid.js';
import { FakeTwilio } from '../helpers/fake-twilio.js';
import { captureLogger } from '../helpers/log-capture.js';
import type { RecordedRequest } from '../helpers/fake-provider.js';

/** What both clients must agree on; headers that only describe the client (user agent) are left out. */
function wire(r: RecordedRequest | undefined) {
  assert.ok(r, 'a request was made');
  return {
    method: r.method,
    path: r.path,
    authorization: r.headers.authorization,
    contentType: String(r.headers['content-type']).split(';')[0],
    body: r.body,
  };
}

describe("the fetch senders send what the providers' SDKs send", () => {
  const SID = 'AC0123456789abcdef0123456789abcdef';
  const TOKEN = 'parity-auth-token';
  const KEY = 'SG.parity.key';
  let twilioFake: FakeTwilio;
  let sendgridFake: FakeSendgrid;
  before(async () => {
    twilioFake = await FakeTwilio.start({ accountSid: SID, authToken: TOKEN });
    sendgridFake = await FakeSendgrid.start({ apiKey: KEY });
  });
  after(async () => {
    await twilioFake.stop();
    await sendgridFake.stop();
  });

  for (const from of ['+15005550001', 'MG0123456789abcdef0123456789abcdef']) {
    test(`Twilio Messages API, from ${from.startsWith('MG') ? 'a Messaging Service' : 'a number'}`, async () => {
      twilioFake.reset();
      const text = '123456 is your code. Ünïcode & symbols = fine?';
      await new TwilioSmsSender({
        accountSid: SID,
        authToken: TOKEN,
        from,
        apiUrl: twilioFake.url,
        logger: captureLogger().logger,
      }).send({ to: '+15005550006', text });

      // The SDK, its host redirected to the fake the way LIBS.md describes.
      const base = new URL(twilioFake.url);
      class ToFake extends twilio.RequestClient {
        override request<T>(opts: RequestClient.RequestOptions<T>): Promise<TwilioResponse.default<T>> {
          const original = new URL(opts.uri);
          return super.request({ ...opts, uri: new URL(`${original.pathname}${original.search}`, base).href });
        }
      }
      const client = twilio(SID, TOKEN, { httpClient: new ToFake({ autoRetry: false }), env: {} });
      await client.messages.create({
        to: '+15005550006',
        body: text,
        ...(from.startsWith('MG') ? { messagingServiceSid: from } : { from }),
      });

      assert.equal(twilioFake.requests.length, 2);
      assert.deepEqual(wire(twilioFake.requests[0]), wire(twilioFake.requests[1]));
    });
  }

  test('SendGrid Mail Send, tracking off', async () => {
    sendgridFake.reset();
    const message = {
      to: 'alice@example.com',
      subject: 'Your code',
      text: 'Code: 123456',
      html: '<p>Code: <b>123456</b></p>',
    };
    await new SendgridEmailSender({
      apiKey: KEY,
      from: 'security@acme.test',
      apiUrl: sendgridFake.url,
      logger: captureLogger().logger,
    }).send(message);

    const client = new Client();
    client.setApiKey(KEY);
    // setApiKey() resets baseUrl (LIBS.md), so the fake goes in after it.
    client.setDefaultRequest('baseUrl', sendgridFake.url);
    const mail = new MailService();
    mail.setClient(client);
    await mail.send({
      ...message,
      from: 'security@acme.test',
      trackingSettings: { clickTracking: { enable: false, enableText: false }, openTracking: { enable: false } },
    });

    assert.equal(sendgridFake.requests.length, 2);
    assert.deepEqual(wire(sendgridFake.requests[0]), wire(sendgridFake.requests[1]));
  });
});
