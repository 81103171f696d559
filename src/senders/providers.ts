/**
 * The built-in providers: how each one reads SendersConfig and what it needs.
 * Problem texts name the environment variables, since they end up in the
 * start-up error an operator reads; they never repeat a secret's value.
 */
import { LogEmailSender, LogSmsSender } from './log.js';
import type { EmailSenderFactory, Provider, SendersConfig, SmsSenderFactory } from './types.js';
import { SendgridEmailSender } from './sendgrid.js';
import { TwilioSmsSender } from './twilio.js';

// E.164: a plus, a non-zero country digit, at most 15 digits in all (ITU-T E.164 §6).
const E164 = /^\+[1-9]\d{1,14}$/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
// Deliberately loose: the provider is the authority on addresses; this only catches a missing or garbled value.
const EMAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

function urlProblem(setting: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return [];
  } catch {
    // fall through to the problem below
  }
  return [`${setting} must be an http(s) URL`];
}

function checkSendgrid(config: SendersConfig): string[] {
  const problems: string[] = [];
  const key = config.sendgridApiKey;
  if (key === undefined || key.trim() === '') {
    problems.push('SENDGRID_API_KEY is required when EMAIL_SERVICE=sendgrid');
  } else if (!key.startsWith('SG.')) {
    // Every SendGrid API key starts with "SG."; anything else is a pasted wrong value.
    problems.push('SENDGRID_API_KEY does not look like a SendGrid API key (it must start with "SG.")');
  }
  if (!EMAIL_ADDRESS.test(config.emailSender)) {
    problems.push('SECURITY_EMAIL_SENDER must be an e-mail address when EMAIL_SERVICE=sendgrid');
  }
  problems.push(...urlProblem('SENDGRID_API_URL', config.sendgridApiUrl));
  return problems;
}

function checkTwilio(config: SendersConfig): string[] {
  const twilio = config.smsServiceConfig;
  if (twilio === undefined) {
    return [
      'SECURITY_SMS_SERVICE_CONFIG with ACCOUNT_SID, AUTH_TOKEN and PHONE_NUMBER is required when SECURITY_SMS_SERVICE=twilio',
    ];
  }
  const problems: string[] = [];
  const sid = typeof twilio.ACCOUNT_SID === 'string' ? twilio.ACCOUNT_SID : '';
  if (!sid.startsWith('AC'))
    problems.push('SECURITY_SMS_SERVICE_CONFIG.ACCOUNT_SID must be a Twilio Account SID (starting with "AC")');
  if (typeof twilio.AUTH_TOKEN !== 'string' || twilio.AUTH_TOKEN.trim() === '') {
    problems.push('SECURITY_SMS_SERVICE_CONFIG.AUTH_TOKEN is required');
  }
  const from = typeof twilio.PHONE_NUMBER === 'string' ? twilio.PHONE_NUMBER : '';
  if (!E164.test(from) && !MESSAGING_SERVICE_SID.test(from)) {
    problems.push(
      'SECURITY_SMS_SERVICE_CONFIG.PHONE_NUMBER must be an E.164 number such as +15005550006 (or a Messaging Service SID, MG…)',
    );
  }
  problems.push(...urlProblem('TWILIO_API_URL', config.twilioApiUrl));
  return problems;
}

export const builtinEmailProviders: Record<string, Provider<EmailSenderFactory>> = {
  log: { factory: (config, deps) => new LogEmailSender({ ...deps, outboxFile: config.outboxFile }) },
  sendgrid: {
    check: checkSendgrid,
    factory: (config, deps) =>
      new SendgridEmailSender({
        apiKey: config.sendgridApiKey ?? '',
        from: config.emailSender,
        logger: deps.logger,
        apiUrl: config.sendgridApiUrl,
        timeoutMs: config.timeoutMs,
      }),
  },
};

export const builtinSmsProviders: Record<string, Provider<SmsSenderFactory>> = {
  log: { factory: (config, deps) => new LogSmsSender({ ...deps, outboxFile: config.outboxFile }) },
  twilio: {
    check: checkTwilio,
    factory: (config, deps) => {
      const twilio = config.smsServiceConfig;
      if (twilio === undefined)
        throw new Error('SECURITY_SMS_SERVICE_CONFIG is required when SECURITY_SMS_SERVICE=twilio');
      return new TwilioSmsSender({
        accountSid: twilio.ACCOUNT_SID,
        authToken: twilio.AUTH_TOKEN,
        from: twilio.PHONE_NUMBER,
        logger: deps.logger,
        apiUrl: config.twilioApiUrl,
        timeoutMs: config.timeoutMs,
      });
    },
  },
};
