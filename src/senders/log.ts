/**
 * The development channel (docs/architecture.md, Senders): a message, code included, becomes one log
 * line marked as outbox delivery and, when an outbox file is set, one JSON
 * line in that file, so a developer or an end-to-end test can read the code.
 * This is the only log line in the service allowed to hold a code; a logger
 * `redact` configuration must leave `outbox.*` alone.
 */
import { appendFile } from 'node:fs/promises';
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import { DeliveryError } from './types.js';
import type { EmailMessage, EmailSender, SmsMessage, SmsSender } from './types.js';

export interface LogSenderOptions {
  logger: BaseLogger;
  clock: Clock;
  /** OUTBOX_FILE: append one JSON line per message. */
  outboxFile?: string;
}

export type OutboxEntry =
  | { channel: 'email'; to: string; subject: string; text: string; html: string; at: string }
  | { channel: 'sms'; to: string; text: string; at: string };

export const OUTBOX_LOG_MESSAGE = 'outbox delivery';

/**
 * One appendFile call per message: the file is opened with O_APPEND and a
 * line is far below the size Node writes in one go, so concurrent messages
 * (in this process or another) never interleave within a line.
 */
async function appendLine(logger: BaseLogger, file: string, entry: OutboxEntry): Promise<void> {
  try {
    await appendFile(file, `${JSON.stringify(entry)}\n`, { encoding: 'utf8', mode: 0o600 });
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unknown';
    logger.error({ provider: 'log', channel: entry.channel, outboxFile: file, reason }, 'outbox file append failed');
    throw new DeliveryError(`${entry.channel} delivery via log failed (outbox file not writable)`);
  }
}

export class LogEmailSender implements EmailSender {
  constructor(private readonly options: LogSenderOptions) {}

  async send(message: EmailMessage): Promise<void> {
    const { logger, clock, outboxFile } = this.options;
    const { to, subject, text, html } = message;
    logger.info({ outbox: { channel: 'email', to, subject, text } }, OUTBOX_LOG_MESSAGE);
    if (outboxFile === undefined) return;
    // Key order is the outbox format's (docs/architecture.md, Senders): channel, to, subject, text, html, at.
    await appendLine(logger, outboxFile, { channel: 'email', to, subject, text, html, at: clock.now().toISOString() });
  }
}

export class LogSmsSender implements SmsSender {
  constructor(private readonly options: LogSenderOptions) {}

  async send(message: SmsMessage): Promise<void> {
    const { logger, clock, outboxFile } = this.options;
    const { to, text } = message;
    logger.info({ outbox: { channel: 'sms', to, text } }, OUTBOX_LOG_MESSAGE);
    if (outboxFile === undefined) return;
    await appendLine(logger, outboxFile, { channel: 'sms', to, text, at: clock.now().toISOString() });
  }
}
