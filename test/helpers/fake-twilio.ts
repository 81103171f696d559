/**
 * A local stand-in for Twilio's Messages API
 * (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded
 * To/From/Body, Basic auth with the Account SID and auth token). It answers
 * 201 with a queued message like Twilio, 401 for wrong credentials, 400 (code
 * 21211) for a `To` that is not E.164; tests script outages on top (see
 * FakeProviderServer). Point the sender at it with TWILIO_API_URL = url.
 */
import { randomBytes } from 'node:crypto';
import { FakeProviderServer, basicAuth } from './fake-provider.js';
import type { HttpAnswer, RecordedRequest } from './fake-provider.js';

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
}

/** One SMS as a test wants to read it back. */
export interface ReceivedSms {
  to: string | undefined;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string | undefined;
}

const twilioError = (status: number, code: number, message: string): HttpAnswer => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

export class FakeTwilio extends FakeProviderServer {
  constructor(private readonly options: FakeTwilioOptions) {
    super();
  }

  static async start(options: FakeTwilioOptions): Promise<FakeTwilio> {
    const fake = new FakeTwilio(options);
    await fake.start();
    return fake;
  }

  /** The service's settings that send SMS through the real twilio client to this fake. */
  serviceEnv(phoneNumber = '+15005550006'): Record<string, string> {
    return {
      SECURITY_SMS_SERVICE: 'twilio',
      SECURITY_SMS_SERVICE_CONFIG: JSON.stringify({
        ACCOUNT_SID: this.options.accountSid,
        AUTH_TOKEN: this.options.authToken,
        PHONE_NUMBER: phoneNumber,
      }),
      TWILIO_API_URL: this.url,
    };
  }

  get messagesPath(): string {
    return `/2010-04-01/Accounts/${this.options.accountSid}/Messages.json`;
  }

  protected defaultAnswer(request: RecordedRequest): HttpAnswer {
    const auth = basicAuth(request.headers);
    if (auth?.user !== this.options.accountSid || auth.password !== this.options.authToken) {
      return twilioError(401, 20003, 'Authenticate');
    }
    if (request.method !== 'POST' || request.path !== this.messagesPath) {
      return twilioError(404, 20404, `The requested resource ${request.path} was not found`);
    }
    const form = (request.body ?? {}) as Record<string, string>;
    if (!/^\+[1-9]\d{1,14}$/.test(form.To ?? '')) {
      return twilioError(400, 21211, `The 'To' number ${form.To ?? ''} is not a valid phone number.`);
    }
    const now = new Date().toUTCString();
    return {
      status: 201,
      body: {
        sid: `SM${randomBytes(16).toString('hex')}`,
        account_sid: this.options.accountSid,
        to: form.To,
        from: form.From ?? null,
        messaging_service_sid: form.MessagingServiceSid ?? null,
        body: form.Body,
        status: 'queued',
        num_segments: '1',
        direction: 'outbound-api',
        api_version: '2010-04-01',
        date_created: now,
        date_updated: now,
        date_sent: null,
        error_code: null,
        error_message: null,
        price: null,
        price_unit: 'USD',
        uri: `${this.messagesPath.replace('.json', '')}/SM.json`,
      },
    };
  }

  /** Message-create requests as SMS (every request, whatever was answered). */
  messages(): ReceivedSms[] {
    return this.requests
      .filter((r) => r.path === this.messagesPath)
      .map((r) => {
        const form = (r.body ?? {}) as Record<string, string | undefined>;
        return { to: form.To, from: form.From, messagingServiceSid: form.MessagingServiceSid, body: form.Body };
      });
  }
}
