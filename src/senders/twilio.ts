/**
 * SMS through Twilio's Messages API with the twilio package (docs/architecture.md, Senders).
 */
import type twilioFactory from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';
import type { BaseLogger } from 'pino';
import { DEFAULT_RETRY_DELAY_MS, DEFAULT_TIMEOUT_MS, deliverWithRetry } from './retry.js';
import type { ProviderFailure } from './retry.js';
import type { SmsMessage, SmsSender } from './types.js';

export interface TwilioSenderOptions {
  /** SECURITY_SMS_SERVICE_CONFIG.ACCOUNT_SID; must start with AC. */
  accountSid: string;
  authToken: string;
  /** SECURITY_SMS_SERVICE_CONFIG.PHONE_NUMBER: an E.164 number, or a Messaging Service SID (MG…). */
  from: string;
  /** TWILIO_API_URL: another base URL (tests, regional edge). Default https://api.twilio.com. */
  apiUrl?: string;
  /** Per attempt (docs/architecture.md, Senders: 5 s). */
  timeoutMs?: number;
  retryDelayMs?: number;
  logger: BaseLogger;
}

const TWILIO_API_URL = 'https://api.twilio.com';

type TwilioClient = ReturnType<typeof twilioFactory>;

/**
 * The client, with the twilio package loaded only now: it is ~21 MiB of RSS
 * (BENCHMARKS.md), which a service on the `log` sender never needs. A
 * configured sender loads it at start-up, not inside the first send's deadline.
 */
async function twilioClient(options: TwilioSenderOptions, timeoutMs: number): Promise<TwilioClient> {
  const { default: twilio } = await import('twilio');
  /**
   * Sends every request to the configured base URL. The twilio client builds
   * absolute api.twilio.com URIs (and would let TWILIO_REGION/TWILIO_EDGE from
   * the environment change the host), so the host is fixed here, in one place.
   */
  class BaseUrlRequestClient extends twilio.RequestClient {
    constructor(
      private readonly base: URL,
      timeoutMs: number,
    ) {
      // `timeout` also becomes the socket timeout, so a silent provider's socket is closed, not leaked.
      super({ timeout: timeoutMs, autoRetry: false });
    }

    override request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
      const original = new URL(opts.uri);
      const prefix = this.base.pathname.replace(/\/$/, '');
      const target = new URL(`${prefix}${original.pathname}${original.search}`, this.base);
      return super.request({ ...opts, uri: target.href });
    }
  }
  const httpClient = new BaseUrlRequestClient(new URL(options.apiUrl ?? TWILIO_API_URL), timeoutMs);
  // env: {} keeps the client from taking credentials or a log level from the environment (config is passed in).
  const client = twilio(options.accountSid, options.authToken, { httpClient, env: {}, autoRetry: false });
  // The client loads the Messages API modules lazily (~150 ms, measured); do it now, at start-up,
  // rather than inside the first send's deadline.
  void client.messages;
  return client;
}

interface TwilioHttpError {
  status: number;
  code?: unknown;
  message: string;
}

/** twilio's RestException / TwilioServiceException carry the HTTP status and Twilio's error code. */
function describe(err: unknown): ProviderFailure | undefined {
  if (!(err instanceof Error)) return undefined;
  const candidate = err as Partial<TwilioHttpError>;
  if (typeof candidate.status !== 'number') return undefined;
  const code = candidate.code;
  return {
    httpStatus: candidate.status,
    ...(typeof code === 'number' || typeof code === 'string' ? { providerCode: code } : {}),
    reason: err.message,
  };
}

export class TwilioSmsSender implements SmsSender {
  private readonly client: Promise<TwilioClient>;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(private readonly options: TwilioSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.client = twilioClient(options, this.timeoutMs);
    // A failure to load is the first send's failure, not an unhandled rejection at start-up.
    this.client.catch(() => {});
  }

  async send(message: SmsMessage): Promise<void> {
    await deliverWithRetry(() => this.attempt(message), {
      provider: 'twilio',
      channel: 'sms',
      logger: this.options.logger,
      timeoutMs: this.timeoutMs,
      retryDelayMs: this.retryDelayMs,
      describe,
      secrets: [this.options.authToken, message.text],
    });
  }

  /**
   * The twilio client takes no abort signal; its own timeout (above) closes a
   * silent connection and deliverWithRetry's deadline bounds the attempt.
   */
  private async attempt(message: SmsMessage): Promise<void> {
    const sender = this.options.from.startsWith('MG')
      ? { messagingServiceSid: this.options.from }
      : { from: this.options.from };
    const client = await this.client;
    await client.messages.create({ to: message.to, body: message.text, ...sender });
  }
}
