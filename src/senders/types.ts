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
