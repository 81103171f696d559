import type { EmailMessage, EmailSender, Senders, SmsMessage, SmsSender } from '../../src/senders/types.js';
import { DeliveryError } from '../../src/senders/types.js';
import { recordSentCodes } from './suite-log.js';

/** Senders that keep what they were asked to send, so tests read codes back (like Flask-Security's SmsTestSender). */
export class RecordingSenders implements Senders {
  emails: EmailMessage[] = [];
  smses: SmsMessage[] = [];
  /** When set, the next sends fail as a provider outage would. */
  failNext = 0;

  email: EmailSender = {
    send: async (m) => {
      if (this.failNext > 0) {
        this.failNext--;
        throw new DeliveryError('recording sender told to fail');
      }
      recordSentCodes(m.text);
      this.emails.push(m);
    },
  };

  sms: SmsSender = {
    send: async (m) => {
      if (this.failNext > 0) {
        this.failNext--;
        throw new DeliveryError('recording sender told to fail');
      }
      recordSentCodes(m.text);
      this.smses.push(m);
    },
  };

  /** The only 6-digit number of the last message to `to`. */
  lastCode(to: string): string {
    const all = [...this.emails.map((m) => ({ to: m.to, text: m.text })), ...this.smses];
    const msg = all.filter((m) => m.to === to).at(-1);
    if (!msg) throw new Error(`no message was sent to ${to}`);
    const codes = msg.text.match(/\b\d{6}\b/g) ?? [];
    if (codes.length !== 1) throw new Error(`expected exactly one code in: ${msg.text}`);
    return codes[0]!;
  }
}
