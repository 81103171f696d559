/**
 * E-mail through SendGrid's v3 Mail Send API with @sendgrid/mail (docs/architecture.md, Senders).
 */
import type { Client } from '@sendgrid/client';
import type { MailService } from '@sendgrid/mail';
import { createRequire } from 'node:module';
import type { BaseLogger } from 'pino';
import { DEFAULT_RETRY_DELAY_MS, DEFAULT_TIMEOUT_MS, deliverWithRetry } from './retry.js';
import type { ProviderFailure } from './retry.js';
import type { EmailMessage, EmailSender } from './types.js';

export interface SendgridSenderOptions {
  apiKey: string;
  /** SECURITY_EMAIL_SENDER. */
  from: string;
  /** SENDGRID_API_URL: another base URL (tests, regional endpoint). Default https://api.sendgrid.com/. */
  apiUrl?: string;
  /** Per attempt (docs/architecture.md, Senders: 5 s). */
  timeoutMs?: number;
  retryDelayMs?: number;
  logger: BaseLogger;
}

type RequestDefaults = Parameters<Client['setDefaultRequest']>[0];

interface SendgridResponseError {
  code: number;
  response?: { body?: { errors?: Array<{ message?: unknown; field?: unknown }> } };
}

/** @sendgrid/helpers' ResponseError: `code` is the HTTP status, the body lists SendGrid's errors. */
function describe(err: unknown): ProviderFailure | undefined {
  if (!(err instanceof Error) || err.name === 'AxiosError') return undefined;
  const candidate = err as unknown as Partial<SendgridResponseError>;
  if (typeof candidate.code !== 'number' || !('response' in err)) return undefined;
  const errors = candidate.response?.body?.errors ?? [];
  const details = errors
    .map((e) => [e.field, e.message].filter((part) => typeof part === 'string').join(': '))
    .filter((line) => line !== '');
  return { httpStatus: candidate.code, reason: details.join('; ') || err.message };
}

/**
 * The SendGrid packages (with axios) are ~4 MiB of heap that a service on the `log`
 * sender never needs (docs/architecture.md, Memory), so they load only when a
 * sender is made: at start-up when configured, not inside the first send's deadline.
 */
function loadSendgrid(): { Client: typeof Client; MailService: typeof MailService } {
  const require = createRequire(import.meta.url);
  // Their typings declare these classes beside an `export =`, which only a static import reads.
  const client = require('@sendgrid/client') as { Client: typeof Client };
  const mail = require('@sendgrid/mail') as { MailService: typeof MailService };
  return { Client: client.Client, MailService: mail.MailService };
}

export class SendgridEmailSender implements EmailSender {
  private readonly sendgrid = loadSendgrid();
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(private readonly options: SendgridSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  async send(message: EmailMessage): Promise<void> {
    await deliverWithRetry((signal) => this.attempt(message, signal), {
      provider: 'sendgrid',
      channel: 'email',
      logger: this.options.logger,
      timeoutMs: this.timeoutMs,
      retryDelayMs: this.retryDelayMs,
      describe,
      secrets: [this.options.apiKey, message.text, message.html],
    });
  }

  /**
   * A fresh Client per attempt: the abort signal can only travel through the
   * client's request defaults, and those must not be shared by concurrent sends.
   * (Cheap: the Client holds no connection; axios uses Node's shared agent.)
   */
  private async attempt(message: EmailMessage, signal: AbortSignal): Promise<void> {
    const client = new this.sendgrid.Client();
    client.setApiKey(this.options.apiKey);
    // setApiKey() resets baseUrl to the default region, so the override must come after it.
    if (this.options.apiUrl !== undefined) client.setDefaultRequest('baseUrl', this.options.apiUrl);
    // Every defaultRequest key is handed to axios (client.js createRequest); the typings only list a few.
    client.setDefaultRequest({ timeout: this.timeoutMs, signal } as unknown as RequestDefaults);
    const mail = new this.sendgrid.MailService();
    mail.setClient(client);
    await mail.send({
      to: message.to,
      from: this.options.from,
      subject: message.subject,
      text: message.text,
      html: message.html,
      // A security message must not have its links rewritten or a tracking pixel added.
      trackingSettings: { clickTracking: { enable: false, enableText: false }, openTracking: { enable: false } },
    });
  }
}
