/**
 * A local stand-in for SendGrid's v3 Mail Send API (`POST /v3/mail/send`,
 * JSON, `Authorization: Bearer <key>`). It answers 202 like SendGrid, 401 for
 * a wrong key, 400 for a body without recipients; tests script outages on top
 * (see FakeProviderServer). Point the sender at it with SENDGRID_API_URL = url.
 */
import { FakeProviderServer } from './fake-provider.js';
import type { HttpAnswer, RecordedRequest } from './fake-provider.js';

export interface FakeSendgridOptions {
  /** The API key the fake accepts; any other Bearer token gets 401. */
  apiKey: string;
}

/** One e-mail as a test wants to read it back. */
export interface ReceivedMail {
  to: string[];
  from: string | undefined;
  subject: string | undefined;
  text: string | undefined;
  html: string | undefined;
}

interface MailSendBody {
  personalizations?: Array<{ to?: Array<{ email?: string }> }>;
  from?: { email?: string };
  subject?: string;
  content?: Array<{ type?: string; value?: string }>;
}

const sendgridError = (status: number, message: string, field: string | null = null): HttpAnswer => ({
  status,
  body: { errors: [{ message, field, help: null }] },
});

export class FakeSendgrid extends FakeProviderServer {
  private messageCount = 0;

  constructor(private readonly options: FakeSendgridOptions) {
    super();
  }

  static async start(options: FakeSendgridOptions): Promise<FakeSendgrid> {
    const fake = new FakeSendgrid(options);
    await fake.start();
    return fake;
  }

  protected defaultAnswer(request: RecordedRequest): HttpAnswer {
    if (request.method !== 'POST' || request.path !== '/v3/mail/send') return sendgridError(404, 'not found');
    if (request.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return sendgridError(401, 'The provided authorization grant is invalid, expired, or revoked');
    }
    const body = request.body as MailSendBody | undefined;
    if (!body?.personalizations?.[0]?.to?.[0]?.email) {
      return sendgridError(400, 'The to array is required for all personalization objects', 'personalizations.0.to');
    }
    this.messageCount += 1;
    // SendGrid accepts with 202 and an empty body; the id is only in a header.
    return { status: 202, headers: { 'x-message-id': `fake-sendgrid-${this.messageCount}` } };
  }

  /** Mail-send requests as e-mails (every request, whatever was answered). */
  mails(): ReceivedMail[] {
    return this.requests
      .filter((r) => r.path === '/v3/mail/send')
      .map((r) => {
        const body = (r.body ?? {}) as MailSendBody;
        const content = (type: string) => body.content?.find((c) => c.type === type)?.value;
        return {
          to: (body.personalizations ?? []).flatMap((p) => (p.to ?? []).map((t) => t.email ?? '')),
          from: body.from?.email,
          subject: body.subject,
          text: content('text/plain'),
          html: content('text/html'),
        };
      });
  }
}
