/**
 * E-mail through SendGrid's v3 Mail Send API (SPEC §7): one JSON POST to
 * /v3/mail/send with Bearer auth, the request @sendgrid/mail sends, made with
 * fetch (http.ts says why).
 */
import type { BaseLogger } from 'pino';
import { describeHttpError, endpoint, post } from './http.js';
import { DEFAULT_RETRY_DELAY_MS, DEFAULT_TIMEOUT_MS, deliverWithRetry } from './retry.js';
import type { EmailMessage, EmailSender } from './types.js';

export interface SendgridSenderOptions {
  apiKey: string;
  /** SECURITY_EMAIL_SENDER. */
  from: string;
  /** SENDGRID_API_URL: another base URL (tests, regional endpoint). Default https://api.sendgrid.com/. */
  apiUrl?: string;
  /** Per attempt (SPEC §7: 5 s). */
  timeoutMs?: number;
  retryDelayMs?: number;
  logger: BaseLogger;
}

const SENDGRID_API_URL = 'https://api.sendgrid.com/';

/** SendGrid's error body: {"errors": [{"message": "…", "field": "…", "help": …}]}. */
function explain(body: unknown): { reason?: string } {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return {};
  const details = errors
    .map((e: { field?: unknown; message?: unknown }) =>
      [e?.field, e?.message].filter((part) => typeof part === 'string').join(': '),
    )
    .filter((line) => line !== '');
  return details.length ? { reason: details.join('; ') } : {};
}

export class SendgridEmailSender implements EmailSender {
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly url: URL;

  constructor(private readonly options: SendgridSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.url = endpoint(options.apiUrl ?? SENDGRID_API_URL, '/v3/mail/send');
  }

  async send(message: EmailMessage): Promise<void> {
    await deliverWithRetry((signal) => this.attempt(message, signal), {
      provider: 'sendgrid',
      channel: 'email',
      logger: this.options.logger,
      timeoutMs: this.timeoutMs,
      retryDelayMs: this.retryDelayMs,
      describe: describeHttpError,
      secrets: [this.options.apiKey, message.text, message.html],
    });
  }

  /** The abort signal fires at the attempt's deadline and closes the connection. */
  private async attempt(message: EmailMessage, signal: AbortSignal): Promise<void> {
    const body = {
      personalizations: [{ to: [{ email: message.to }] }],
      from: { email: this.options.from },
      subject: message.subject,
      content: [
        { type: 'text/plain', value: message.text },
        { type: 'text/html', value: message.html },
      ],
      // A security message must not have its links rewritten or a tracking pixel added.
      tracking_settings: { click_tracking: { enable: false, enable_text: false }, open_tracking: { enable: false } },
    };
    await post(
      this.url,
      {
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(body),
        signal,
      },
      explain,
    );
  }
}
