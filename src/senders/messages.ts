/**
 * The texts users and the help desk receive. openapi.yaml (/tf-validate): a code message holds
 * the code as its only 6-digit number, so people (and autofill) cannot pick
 * the wrong one; every builder checks that rule on its own output and throws
 * rather than send an ambiguous message (e.g. an app name with digits in it).
 */
import type { EmailMessage, SmsMessage } from './types.js';

export interface CodeMessageInput {
  /** Exactly six digits. */
  code: string;
  /** How long the code stays valid, in minutes (SECURITY_TWO_FACTOR_MAIL_VALIDITY / 60, …). */
  minutesValid: number;
  /** Shown as the sender's name in the text (e.g. SECURITY_TOTP_ISSUER). */
  appName: string;
}

export interface HelpDeskNoticeInput {
  /** The account that asked for help. */
  userEmail: string;
  appName: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** Line breaks in a subject or a one-line field would only ever be a mistake or an injection attempt. */
function oneLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ').trim();
}

function minutesText(minutes: number): string {
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('minutesValid must be a positive number');
  // Round down: never promise more time than the code really has.
  const whole = Math.max(1, Math.floor(minutes));
  return whole === 1 ? '1 minute' : `${whole} minutes`;
}

/** Throws unless `code` is the only run of six or more digits in every given text. */
export function assertOnlyCode(code: string, ...texts: string[]): void {
  if (!/^\d{6}$/.test(code)) throw new Error('a code must be exactly six digits');
  for (const text of texts) {
    const runs = text.match(/\d{6,}/g) ?? [];
    if (runs.length === 0 || runs.some((run) => run !== code)) {
      throw new Error('a code message must contain the code as its only 6-digit number');
    }
  }
}

function assertNoDigitRun(...texts: string[]): void {
  if (texts.some((text) => /\d{6,}/.test(text)))
    throw new Error('a code message subject must not contain a 6-digit number');
}

interface CodeEmailWording {
  subject: string;
  intro: string;
  outro: string;
}

function codeEmail(to: string, input: CodeMessageInput, wording: CodeEmailWording): EmailMessage {
  const expiry = `It expires in ${minutesText(input.minutesValid)} and works only once.`;
  const subject = oneLine(wording.subject);
  const text = `${wording.intro}\n\n${input.code}\n\n${expiry}\n\n${wording.outro}\n`;
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif">',
    `<p>${escapeHtml(wording.intro)}</p>`,
    `<p style="font-size: 24px; font-weight: bold; letter-spacing: 4px">${escapeHtml(input.code)}</p>`,
    `<p>${escapeHtml(expiry)}</p>`,
    `<p>${escapeHtml(wording.outro)}</p>`,
    '</body></html>',
  ].join('\n');
  assertOnlyCode(input.code, text, html);
  assertNoDigitRun(subject);
  return { to, subject, text, html };
}

/** The second factor of a sign-in (tf_method "email"). */
export function signInCodeEmail(to: string, input: CodeMessageInput): EmailMessage {
  const app = oneLine(input.appName);
  return codeEmail(to, input, {
    subject: `Your ${app} sign-in code`,
    intro: `Use this code to finish signing in to ${app}:`,
    outro: 'If you did not try to sign in, someone may know your password. Please change it.',
  });
}

/** Confirms a new e-mail second factor (POST /tf-setup with setup "email"). */
export function setupCodeEmail(to: string, input: CodeMessageInput): EmailMessage {
  const app = oneLine(input.appName);
  return codeEmail(to, input, {
    subject: `Confirm two-factor sign-in for ${app}`,
    intro: `Use this code to confirm e-mail as your ${app} second factor:`,
    outro: 'If you did not ask for this, ignore this message; nothing has been changed.',
  });
}

/** The one-time code of POST /tf-rescue {help_setup: "email"}. */
export function rescueCodeEmail(to: string, input: CodeMessageInput): EmailMessage {
  const app = oneLine(input.appName);
  return codeEmail(to, input, {
    subject: `Your ${app} recovery code`,
    intro: `Someone asked to sign in to ${app} without your usual second factor. Use this code to continue:`,
    outro: 'If this was not you, do not share this code, and change your password.',
  });
}

/**
 * POST /tf-rescue {help_setup: "help"}: tells SECURITY_TWO_FACTOR_RESCUE_MAIL
 * which account asked for help. It holds no code and no link: the help desk
 * must verify the person by another channel before resetting anything.
 */
export function helpDeskNoticeEmail(to: string, input: HelpDeskNoticeInput): EmailMessage {
  const app = oneLine(input.appName);
  const user = oneLine(input.userEmail);
  const subject = `${app}: two-factor help requested by ${user}`;
  const lines = [
    `The ${app} user ${user} cannot complete two-factor sign-in and asked for help.`,
    'Verify that the request really comes from the account owner, by a channel other than this e-mail, before acting.',
    `To let them set up a new second factor, an operator can run: npm run cli -- users:reset-2fa --email ${user} --reason "<why>"`,
  ];
  const text = `${lines.join('\n\n')}\n`;
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif">',
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    '</body></html>',
  ].join('\n');
  return { to, subject, text, html };
}

/** SMS: the code comes first so it shows in the notification preview. */
export function codeSms(to: string, input: CodeMessageInput): SmsMessage {
  const text = `${input.code} is your ${oneLine(input.appName)} code. It expires in ${minutesText(input.minutesValid)}.`;
  assertOnlyCode(input.code, text);
  return { to, text };
}
