import { normalizeIP } from '@fastify/rate-limit';
import type { Kysely } from 'kysely';
import type { AuditContext, Auditor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import { AppError, ValidationError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { smsCountryAllowed } from './countries.js';
import { lockAndReadSends, recordSend } from './sms-budget.repository.js';

/**
 * SMS cost limits against SMS pumping (README "Abuse resistance"): a country
 * allow-list, a service-wide budget per hour and per day, and a per-address
 * limit, on top of the per-user and per-destination send limits. Self-contained:
 * the send path calls checkSmsCountry when a number is chosen and reserveSms
 * before each SMS. Budgets live in the database under one row lock, so they are
 * exact under concurrent bursts and shared by every instance.
 */
export interface SmsBudgetDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  audit: Auditor;
  metrics: Metrics;
}

export type SmsRefusal = 'country' | 'hourly_budget' | 'daily_budget' | 'ip_limit';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A number outside SECURITY_SMS_ALLOWED_COUNTRIES: 400 SMS_COUNTRY_NOT_ALLOWED on `phone`. */
export async function checkSmsCountry(
  deps: SmsBudgetDeps,
  e164: string,
  userId: number,
  ctx: AuditContext,
): Promise<void> {
  if (smsCountryAllowed(deps.config.SECURITY_SMS_ALLOWED_COUNTRIES, e164)) return;
  await refuse(deps, 'country', userId, ctx);
  throw new ValidationError([{ field: 'phone', key: 'SMS_COUNTRY_NOT_ALLOWED' }]);
}

/**
 * Counts one SMS against the budgets, or refuses it with 429 RATE_LIMITED and
 * the seconds until a slot frees. A reserved SMS stays counted even if the
 * provider then fails: the budget bounds what the service tries to spend.
 */
export async function reserveSms(deps: SmsBudgetDeps, userId: number, ctx: AuditContext): Promise<void> {
  const now = deps.clock.now();
  // IPv6 by /64, as the per-IP rate limit does: one host usually owns a whole /64.
  const ipHash = deps.hmac.hashParts('sms-budget', [ctx.ip ? normalizeIP(ctx.ip) : 'unknown']);
  const refusal = await deps.db.transaction().execute(async (trx) => {
    const sends = await lockAndReadSends(trx, new Date(now.getTime() - DAY_MS));
    const verdict = judge(deps.config, sends, ipHash, now);
    if (!verdict) await recordSend(trx, now, ipHash);
    return verdict;
  });
  if (!refusal) return;
  await refuse(deps, refusal.reason, userId, ctx);
  throw new AppError('RATE_LIMITED', { retryAfter: refusal.retryAfter });
}

interface Send {
  sent_at: Date;
  ip_hash: string;
}

/** The limit that refuses one more send now (the one with the longest wait), or null. */
function judge(
  config: Config,
  sends: readonly Send[],
  ipHash: string,
  now: Date,
): { reason: SmsRefusal; retryAfter: number } | null {
  const hourAgo = now.getTime() - HOUR_MS;
  const lastHour = sends.filter((s) => s.sent_at.getTime() > hourAgo);
  const checks: Array<[SmsRefusal, number]> = [
    ['daily_budget', wait(sends, config.SECURITY_SMS_BUDGET_DAILY, DAY_MS, now)],
    ['hourly_budget', wait(lastHour, config.SECURITY_SMS_BUDGET_HOURLY, HOUR_MS, now)],
    [
      'ip_limit',
      wait(
        lastHour.filter((s) => s.ip_hash === ipHash),
        config.SECURITY_SMS_IP_HOURLY,
        HOUR_MS,
        now,
      ),
    ],
  ];
  const worst = checks.reduce((a, b) => (b[1] > a[1] ? b : a));
  return worst[1] > 0 ? { reason: worst[0], retryAfter: worst[1] } : null;
}

/** Seconds until one more send fits `max` per `windowMs` (sends in time order, all inside the window); 0 if now. */
function wait(sends: readonly Send[], max: number, windowMs: number, now: Date): number {
  if (sends.length < max) return 0;
  const oldestThatMustExpire = sends[sends.length - max]!;
  return Math.max(1, Math.ceil((oldestThatMustExpire.sent_at.getTime() + windowMs - now.getTime()) / 1000));
}

async function refuse(deps: SmsBudgetDeps, reason: SmsRefusal, userId: number, ctx: AuditContext): Promise<void> {
  deps.metrics.smsRefused(reason);
  await deps.audit.record(deps.db, 'sms.refused', userId, ctx, { reason });
}
