import type { AuditType } from '../audit/audit.js';
import { NOTICES, type Notice } from './notice-names.js';

/**
 * Security e-mails to the user (README, "Security e-mails"): which event
 * types notify, and what each notice says. Texts carry what happened, when
 * and from which address, never a code, secret, token or key.
 */

export { NOTICES, type Notice };

type Details = Record<string, unknown>;

/** Remaining recovery codes at or below this get the warning instead of the plain notice. */
const LOW_RECOVERY_CODES = 1;
const remaining = (d: Details): number => (typeof d.remaining === 'number' ? d.remaining : Infinity);

/**
 * Event type → the notices it may send, the preferred first: the first one
 * switched on is sent (one e-mail per event at most). One line per type.
 */
export const EVENT_NOTICES: Readonly<Partial<Record<AuditType, (details: Details) => readonly Notice[]>>> = {
  'tf.setup_changed': () => ['tf_setup'],
  'tf.disabled': () => ['tf_disabled'],
  'recovery_codes.generated': () => ['recovery_codes_generated'],
  'recovery_code.used': (d) =>
    remaining(d) <= LOW_RECOVERY_CODES ? ['recovery_codes_low', 'recovery_code_used'] : ['recovery_code_used'],
  'tf.lockout': () => ['tf_locked'],
  'device.remembered': () => ['device_remembered'],
  'webauthn.registered': () => ['key_registered'],
  'webauthn.deleted': () => ['key_removed'],
  'user.reset_2fa': () => ['tf_reset'],
};

/** The event types that may send one of `enabled`. */
export function notifyingTypes(enabled: ReadonlySet<Notice>): string[] {
  const all: Details = { remaining: 0 };
  return Object.entries(EVENT_NOTICES)
    .filter(([, pick]) => [...pick!(all), ...pick!({})].some((n) => enabled.has(n)))
    .map(([type]) => type);
}

/** The notice an event sends, or null when every notice it could send is off. */
export function noticeFor(type: string, details: Details, enabled: ReadonlySet<Notice>): Notice | null {
  return EVENT_NOTICES[type as AuditType]?.(details).find((n) => enabled.has(n)) ?? null;
}

export interface NoticeContext {
  details: Details;
  at: Date;
  ip: string | null;
}

const METHOD_NAMES: Record<string, string> = {
  authenticator: 'an authenticator app',
  email: 'codes by e-mail',
  sms: 'codes by text message',
  webauthn: 'a security key',
};
const method = (d: Details): string => (typeof d.method === 'string' && METHOD_NAMES[d.method]) || 'a new method';
const codesLeft = (d: Details): string =>
  typeof d.remaining === 'number'
    ? `You have ${d.remaining} unused recovery code${d.remaining === 1 ? '' : 's'} left.`
    : '';

const NOT_YOU = 'If this was not you, sign in and change your password at once, or contact support.';

/** Subject and first paragraph of each notice. */
const TEXTS: Record<Notice, (d: Details) => { subject: string; body: string }> = {
  tf_setup: (d) => ({
    subject: 'Your two-factor sign-in was set up or changed',
    body: `Your account now uses ${method(d)} as its second factor.`,
  }),
  tf_disabled: () => ({
    subject: 'Two-factor sign-in was turned off',
    body: 'Two-factor sign-in was turned off for your account. Your password alone now signs you in.',
  }),
  recovery_codes_generated: () => ({
    subject: 'New recovery codes were made',
    body: 'New recovery codes were made for your account. Any codes you had before no longer work.',
  }),
  recovery_code_used: (d) => ({
    subject: 'A recovery code was used',
    body: `A recovery code was used to sign in to your account. ${codesLeft(d)}`.trim(),
  }),
  recovery_codes_low: (d) => ({
    subject: 'A recovery code was used: make new ones soon',
    body: `A recovery code was used to sign in to your account. ${codesLeft(d)} Make new recovery codes before you run out.`.trim(),
  }),
  tf_locked: () => ({
    subject: 'Two-factor sign-in locked after wrong codes',
    body: 'Too many wrong codes were entered for your account, so two-factor sign-in is locked for a while.',
  }),
  device_remembered: () => ({
    subject: 'A new device was remembered',
    body: 'A device was remembered for your account: it can sign in without a second factor for a while.',
  }),
  key_registered: () => ({
    subject: 'A new security key was added',
    body: 'A new security key or passkey was added to your account.',
  }),
  key_removed: () => ({
    subject: 'A security key was removed',
    body: 'A security key or passkey was removed from your account.',
  }),
  tf_reset: () => ({
    subject: 'Your two-factor sign-in was reset by support',
    body: 'Support reset the two-factor sign-in of your account: your second factor, recovery codes and remembered devices were removed, and you were signed out everywhere.',
  }),
};

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The e-mail of a notice: what, when, from where; no codes or secrets (the details hold none). */
export function renderNotice(notice: Notice, ctx: NoticeContext): { subject: string; text: string; html: string } {
  const { subject, body } = TEXTS[notice](ctx.details);
  const when = `When: ${ctx.at.toISOString()}${ctx.ip ? `, from the address ${ctx.ip}` : ''}.`;
  const paragraphs = [body, when, NOT_YOU];
  return {
    subject,
    text: paragraphs.join('\n\n'),
    html: paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n'),
  };
}
