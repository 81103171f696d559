import type { RawConfig } from '../config/schema.js';
import { notifyingTypes, type Notice } from './notices.js';
import { checkWebhookSecret, webhookKey } from './signature.js';

/** What the delivery loop reads from the configuration (README, "Webhooks" and "Security e-mails"). */
export interface EventsSettings {
  webhookUrls: readonly string[];
  webhookKey: Buffer;
  timeoutMs: number;
  giveUpMs: number;
  notices: ReadonlySet<Notice>;
}

type EventsConfig = Pick<
  RawConfig,
  'WEBHOOK_URLS' | 'WEBHOOK_SECRET' | 'WEBHOOK_TIMEOUT' | 'WEBHOOK_GIVE_UP_AFTER' | 'SECURITY_NOTIFICATIONS'
>;

export function eventsSettings(config: EventsConfig): EventsSettings {
  const notices = config.SECURITY_NOTIFICATIONS.filter((n): n is Notice => n !== 'none');
  return {
    webhookUrls: config.WEBHOOK_URLS,
    webhookKey: config.WEBHOOK_SECRET ? webhookKey(config.WEBHOOK_SECRET) : Buffer.alloc(0),
    timeoutMs: config.WEBHOOK_TIMEOUT * 1000,
    giveUpMs: config.WEBHOOK_GIVE_UP_AFTER * 1000,
    notices: new Set(notices),
  };
}

/**
 * The audit types some target may want, so the only ones worth an outbox row: every
 * type when a webhook is set (receivers get every event), else those of the notices
 * switched on. A type left out is never delivered, as one written before a URL was added.
 */
export function outboxTypes(settings: Pick<EventsSettings, 'webhookUrls' | 'notices'>): '*' | string[] {
  return settings.webhookUrls.length > 0 ? '*' : notifyingTypes(settings.notices);
}

export function eventsConfigProblems(config: EventsConfig): string[] {
  const problems: string[] = [];
  if (config.WEBHOOK_URLS.length > 0 && !config.WEBHOOK_SECRET)
    problems.push(
      'WEBHOOK_URLS needs WEBHOOK_SECRET (or WEBHOOK_SECRET_FILE): e.g. `echo whsec_$(openssl rand -base64 32)`',
    );
  const secretProblem = config.WEBHOOK_SECRET ? checkWebhookSecret(config.WEBHOOK_SECRET) : null;
  if (secretProblem) problems.push(`WEBHOOK_SECRET ${secretProblem}`);
  if (config.SECURITY_NOTIFICATIONS.includes('none') && config.SECURITY_NOTIFICATIONS.length > 1)
    problems.push('SECURITY_NOTIFICATIONS: "none" turns every notice off and cannot be listed with others');
  return problems;
}

// Retries: 5 s doubling up to an hour, so a receiver that is down for a day
// gets about thirty tries before WEBHOOK_GIVE_UP_AFTER (3 days by default).
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 3_600_000;

/**
 * The wait before attempt `attempt + 1`: exponential, with "equal jitter"
 * (half fixed, half random) so receivers coming back are not hit by every
 * queued event at the same instant. `random` is in [0, 1).
 */
export function backoffMs(attempt: number, random: number): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + (exp / 2) * random);
}
