import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { BaseLogger } from 'pino';
import type { Clock } from '../clock.js';
import type { DB } from '../db/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Senders } from '../senders/types.js';
import { backoffMs, type EventsSettings } from './settings.js';
import {
  claimDelivery,
  countPending,
  dueHeads,
  EMAIL_TARGET,
  fanOut,
  finishAttempt,
  pruneOutbox,
  userEmail,
  webhookTarget,
  webhookUrlOf,
  type DueDelivery,
} from './events.repository.js';
import type { Leadership } from './leader.js';
import { noticeFor, notifyingTypes, renderNotice } from './notices.js';
import { postWebhook } from './webhook-post.js';

export interface DeliveryDeps {
  db: Kysely<DB>;
  leadership: Leadership;
  settings: EventsSettings;
  senders: Senders;
  clock: Clock;
  log: BaseLogger;
  metrics: Metrics;
  /** For the backoff's jitter; tests fix it. */
  random?: () => number;
}

export interface DeliveryLoop {
  /** Runs rounds until stop(): at once while there is work, else every POLL_MS. */
  start(): void;
  /** Stops taking work, waits for the attempts in flight (each bounded by its timeout), lets go of the lock. */
  stop(): Promise<void>;
  /** One round (tests call it with a moved clock): fan out, then one attempt per due head. Returns the work done. */
  tick(): Promise<number>;
}

const POLL_MS = 1000;
const FAN_OUT_BATCH = 500;
const HEADS_PER_ROUND = 32;
/** An attempt's lease outlasts its own timeout by this much: the result is written well within it. */
const LEASE_MARGIN_MS = 30_000;
/** Two provider attempts of 5 s and the pause between (docs/architecture.md, Senders). */
const EMAIL_ATTEMPT_MS = 11_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const DONE_KEPT_MS = 7 * 86_400_000;
const DEAD_KEPT_MS = 30 * 86_400_000;

type Attempt = { ok: true; status?: number | null } | { ok: false; status?: number | null; error: string } | 'skip';

export function createDeliveryLoop(deps: DeliveryDeps): DeliveryLoop {
  const { db, settings, clock, log, metrics } = deps;
  const random = deps.random ?? Math.random;
  const webhookTargets = settings.webhookUrls.map(webhookTarget);
  const emailTypes = notifyingTypes(settings.notices);
  let stopping = false;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let lastPrune = 0;
  let wasLeading: boolean | undefined;

  async function attemptWebhook(d: DueDelivery, url: string): Promise<Attempt> {
    const began = performance.now();
    const r = await postWebhook(
      url,
      settings.webhookKey,
      d,
      Math.floor(clock.now().getTime() / 1000),
      settings.timeoutMs,
    );
    metrics.webhookAttempt(r.ok ? 'delivered' : 'failed', (performance.now() - began) / 1000);
    return r.ok ? { ok: true, status: r.status } : { ok: false, status: r.status, error: r.error ?? 'failed' };
  }

  async function attemptEmail(d: DueDelivery): Promise<Attempt> {
    const notice = d.user_id === null ? null : noticeFor(d.type, d.details, settings.notices);
    const to = notice && d.user_id !== null ? await userEmail(db, d.user_id) : undefined;
    if (!notice || !to) return 'skip';
    try {
      await deps.senders.email.send({
        to,
        ...renderNotice(notice, { details: d.details, at: new Date(d.at), ip: d.ip }),
      });
      metrics.notice('sent');
      return { ok: true };
    } catch (err) {
      metrics.notice('failed');
      return { ok: false, error: (err as Error).name || 'send failed' };
    }
  }

  async function deliver(d: DueDelivery): Promise<void> {
    const now = clock.now();
    const claim = randomUUID();
    const isEmail = d.target === EMAIL_TARGET;
    const lease = new Date(now.getTime() + (isEmail ? EMAIL_ATTEMPT_MS : settings.timeoutMs) + LEASE_MARGIN_MS);
    if (!(await claimDelivery(db, d.id, claim, now, lease))) return;
    const url = webhookUrlOf(d.target);
    const outcome = isEmail ? await attemptEmail(d) : await attemptWebhook(d, url);
    const at = clock.now();
    if (outcome === 'skip') {
      metrics.notice('skipped');
      await finishAttempt(db, d.id, claim, { state: 'skipped', now: at });
      return;
    }
    if (outcome.ok) {
      await finishAttempt(db, d.id, claim, { state: 'delivered', now: at, status: outcome.status ?? null });
      return;
    }
    // Given up once the give-up time since the event was queued has passed (README, WEBHOOK_GIVE_UP_AFTER);
    // the last retry is moved up to that moment, so an event is never kept much longer than the setting.
    const giveUpAt = new Date(d.created_at).getTime() + settings.giveUpMs;
    const dead = at.getTime() >= giveUpAt;
    const nextAttemptAt = new Date(Math.min(at.getTime() + backoffMs(d.attempts + 1, random()), giveUpAt));
    await finishAttempt(db, d.id, claim, {
      state: dead ? 'dead' : 'pending',
      now: at,
      nextAttemptAt,
      status: outcome.status ?? null,
      error: outcome.error,
    });
    const where = isEmail ? 'email' : new URL(url).origin;
    if (dead) {
      if (isEmail) metrics.notice('dead');
      else metrics.webhookAttempt('dead', 0);
      log.warn(
        { eventId: d.event_id, type: d.type, target: where, attempts: d.attempts + 1 },
        'event delivery given up',
      );
    } else {
      log.info({ eventId: d.event_id, target: where, error: outcome.error, nextAttemptAt }, 'event delivery failed');
    }
  }

  async function housekeeping(now: Date): Promise<void> {
    const pending = await countPending(db);
    metrics.eventsPending('webhook', pending.webhook);
    metrics.eventsPending('email', pending.email);
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    await pruneOutbox(db, new Date(now.getTime() - DONE_KEPT_MS), new Date(now.getTime() - DEAD_KEPT_MS));
  }

  async function tick(): Promise<number> {
    if (stopping) return 0;
    const leading = await deps.leadership.ensure();
    if (leading !== wasLeading)
      log.info({ leading }, leading ? 'event delivery: this instance leads' : 'event delivery: another instance leads');
    wasLeading = leading;
    metrics.deliveryLeader(leading);
    if (!leading) return 0;
    let work = 0;
    for (let n = FAN_OUT_BATCH; n === FAN_OUT_BATCH && !stopping;) {
      n = await fanOut(db, { webhookTargets, emailTypes, now: clock.now(), limit: FAN_OUT_BATCH });
      work += n;
    }
    const heads = stopping ? [] : await dueHeads(db, clock.now(), HEADS_PER_ROUND);
    // Heads are of distinct (target, user) pairs, so they may go out side by side.
    // Every attempt ends before the round does (stop() waits for the round), even when one throws.
    const failed = (await Promise.allSettled(heads.map((d) => deliver(d)))).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await housekeeping(clock.now());
    return work + heads.length;
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let work = 0;
      try {
        work = await tick();
      } catch (err) {
        log.warn({ err }, 'event delivery round failed; trying again');
      }
      if (work === 0 && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  return {
    start() {
      running ??= run();
    },
    async stop() {
      stopping = true;
      wake?.();
      await running;
      await deps.leadership.release();
      metrics.deliveryLeader(false);
    },
    tick,
  };
}
