import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';

/**
 * Delivery of codes sits behind one-method interfaces (STYLE habit 3), so a
 * provider can be swapped by configuration and tests can record messages.
 */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface SmsMessage {
  /** E.164 number. */
  to: string;
  text: string;
}

export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
}

export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

export interface Senders {
  email: EmailSender;
  sms: SmsSender;
}

/** Thrown by a sender when delivery failed for good (after its retry); mapped to FAILED_TO_SEND_CODE. */
export class DeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}

/** The delivery settings (from Config by from-config.ts) that providers read. */
export interface SendersConfig {
  /** EMAIL_SERVICE: `log` | `sendgrid` | a registered name. */
  emailService: string;
  /** SECURITY_SMS_SERVICE: `log` | `twilio` | a registered name. */
  smsService: string;
  /** SECURITY_EMAIL_SENDER: the From address. */
  emailSender: string;
  sendgridApiKey?: string;
  sendgridApiUrl?: string;
  /** SECURITY_SMS_SERVICE_CONFIG. */
  smsServiceConfig?: { ACCOUNT_SID: string; AUTH_TOKEN: string; PHONE_NUMBER: string };
  twilioApiUrl?: string;
  /** OUTBOX_FILE, for the `log` senders. */
  outboxFile?: string;
  /** Per provider attempt; default 5000 (README configuration). Tests shorten it. */
  timeoutMs?: number;
}

export interface SenderDeps {
  logger: BaseLogger;
  clock: Clock;
}

export type EmailSenderFactory = (config: SendersConfig, deps: SenderDeps) => EmailSender;
export type SmsSenderFactory = (config: SendersConfig, deps: SenderDeps) => SmsSender;
/** Human-readable problems with the configuration this provider needs; empty when it can start. */
export type SenderConfigCheck = (config: SendersConfig) => string[];

export interface Provider<F> {
  factory: F;
  check?: SenderConfigCheck;
}
