/**
 * SMS through Twilio's Messages API (SPEC §7): one form-encoded POST to
 * /2010-04-01/Accounts/{AccountSid}/Messages.json with Basic auth, the request
 * the twilio package sends, made with fetch (http.ts says why).
 */
import type { BaseLogger } from 'pino';
import { describeHttpError, endpoint, post } from './http.js';
import { DEFAULT_RETRY_DELAY_MS, DEFAULT_TIMEOUT_MS, deliverWithRetry } from './retry.js';
import type { SmsMessage, SmsSender } from './types.js';

export interface TwilioSenderOptions {
  /** SECURITY_SMS_SERVICE_CONFIG.ACCOUNT_SID; must start with AC. */
  accountSid: string;
  authToken: string;
  /** SECURITY_SMS_SERVICE_CONFIG.PHONE_NUMBER: an E.164 number, or a Messaging Service SID (MG…). */
  from: string;
  /** TWILIO_API_URL: another base URL (tests, regional edge). Default https://api.twilio.com. */
  apiUrl?: string;
  /** Per attempt (SPEC §7: 5 s). */
  timeoutMs?: number;
  retryDelayMs?: number;
  logger: BaseLogger;
}

const TWILIO_API_URL = 'https://api.twilio.com';

/** Twilio's error body: {"code": 21211, "message": "…", "more_info": "…", "status": 400}. */
function explain(body: unknown): { reason?: string; code?: string | number } {
  const { code, message } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  return {
    ...(typeof message === 'string' ? { reason: message } : {}),
    ...(typeof code === 'number' || typeof code === 'string' ? { code } : {}),
  };
}

export class TwilioSmsSender implements SmsSender {
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly url: URL;
  private readonly authorization: string;

  constructor(private readonly options: TwilioSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    // The host is fixed here, from configuration only (the SDK also read TWILIO_REGION/TWILIO_EDGE).
    this.url = endpoint(
      options.apiUrl ?? TWILIO_API_URL,
      `/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`,
    );
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  }

  async send(message: SmsMessage): Promise<void> {
    await deliverWithRetry((signal) => this.attempt(message, signal), {
      provider: 'twilio',
      channel: 'sms',
      logger: this.options.logger,
      timeoutMs: this.timeoutMs,
      retryDelayMs: this.retryDelayMs,
      describe: describeHttpError,
      secrets: [this.options.authToken, this.authorization, message.text],
    });
  }

  /** The abort signal fires at the attempt's deadline and closes the connection. */
  private async attempt(message: SmsMessage, signal: AbortSignal): Promise<void> {
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (this.options.from.startsWith('MG')) form.set('MessagingServiceSid', this.options.from);
    else form.set('From', this.options.from);
    await post(
      this.url,
      {
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal,
      },
      explain,
    );
  }
}
