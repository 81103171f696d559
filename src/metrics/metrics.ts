import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueryStats } from '../db/database.js';
import { RequestMetrics } from './request-metrics.js';

export type SignInOutcome = 'success' | 'failure' | 'pending_second_factor';
export type CodeChannel = 'email' | 'sms';
export type CodeSendOutcome = 'sent' | 'failed' | 'rate_limited';
export type CodeValidateOutcome = 'success' | 'failure';

/**
 * What the features record (openapi.yaml, /metrics). One object per app: tests build
 * many apps in one process, and prom-client's global registry would make their
 * counters collide ("metric already registered") and leak between tests.
 */
export interface Metrics {
  readonly registry: Registry;
  /** A first factor decided: signed in, refused, or waiting for the second factor. */
  signIn(outcome: SignInOutcome): void;
  codeSent(method: CodeChannel, outcome: CodeSendOutcome): void;
  /** `method`: email, sms, authenticator, recovery_code … (a fixed word from code, never client input). */
  codeValidated(method: string, outcome: CodeValidateOutcome): void;
  /** A user's second factor was locked (docs/architecture.md, Budgets). */
  lockout(): void;
  /** A provider failed after its retry (docs/architecture.md, Senders). */
  senderFailure(channel: CodeChannel): void;
  /** An SMS refused by a cost limit: country, hourly_budget, daily_budget or ip_limit (README "Abuse resistance"). */
  smsRefused(reason: string): void;
  /** Called once per answered request by the HTTP plugin. */
  request(labels: { method: string; route: string; status: number }, seconds: number): void;
  /** A webhook attempt: delivered (2xx), failed (to retry) or dead (given up) (README, "Webhooks"). */
  webhookAttempt(outcome: WebhookOutcome, seconds: number): void;
  /** A security e-mail: sent, failed (to retry), dead (given up) or skipped (switched off, user gone). */
  notice(outcome: NoticeOutcome): void;
  /** Deliveries waiting, by kind of target (webhook, email), and whether this instance leads the delivery. */
  eventsPending(kind: 'webhook' | 'email', count: number): void;
  deliveryLeader(leading: boolean): void;
}

export type WebhookOutcome = 'delivered' | 'failed' | 'dead';
export type NoticeOutcome = 'sent' | 'failed' | 'dead' | 'skipped';

// Latency of an auth service: argon2 (~15 ms) plus a few round trips; SMS/e-mail sends up to the 5 s deadline.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label values come from our code; this keeps a slip (or a future caller) from exploding cardinality. */
function word(value: string): string {
  return /^[a-z][a-z0-9_]{0,31}$/.test(value) ? value : 'other';
}

export function createMetrics(database: { stats: QueryStats }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const signIns = new Counter({
    name: 'tfa_signins_total',
    help: 'First-factor sign-ins by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const codesSent = new Counter({
    name: 'tfa_codes_sent_total',
    help: 'One-time codes sent, by method and outcome',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  const codesValidated = new Counter({
    name: 'tfa_codes_validated_total',
    help: 'Second-factor codes checked, by method and outcome',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  const lockouts = new Counter({
    name: 'tfa_lockouts_total',
    help: 'Users whose second factor was locked',
    registers: [registry],
  });
  const senderFailures = new Counter({
    name: 'tfa_sender_failures_total',
    help: 'Deliveries that failed after the retry, by channel',
    labelNames: ['channel'],
    registers: [registry],
  });
  const smsRefusals = new Counter({
    name: 'tfa_sms_refused_total',
    help: 'SMS not sent because a cost limit refused them, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const requests = new RequestMetrics(LATENCY_BUCKETS);
  requests.register(
    registry,
    { counter: 'tfa_http_requests_total', histogram: 'tfa_http_request_duration_seconds' },
    { counter: 'Answered HTTP requests', histogram: 'Time from request received to answer sent' },
  );
  // Read at scrape time from the database's own count, so no query path needs to know about metrics.
  // It counts every statement this process sent through the database since it opened.
  let seen = 0;
  new Counter({
    name: 'tfa_db_queries_total',
    help: 'SQL statements sent to the database',
    registers: [registry],
    collect() {
      const now = database.stats.queries;
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });

  const events = eventMetrics(registry);
  return {
    registry,
    ...events,
    signIn: (outcome) => signIns.inc({ outcome }),
    codeSent: (method, outcome) => codesSent.inc({ method, outcome }),
    codeValidated: (method, outcome) => codesValidated.inc({ method: word(method), outcome }),
    lockout: () => lockouts.inc(),
    senderFailure: (channel) => senderFailures.inc({ channel }),
    smsRefused: (reason) => smsRefusals.inc({ reason: word(reason) }),
    request: ({ method, route, status }, seconds) => requests.record(method, route, status, seconds),
  };
}

// A webhook answers in milliseconds to seconds; attempts end at WEBHOOK_TIMEOUT.
const WEBHOOK_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Events out (README, "Webhooks" and "Security e-mails"). */
function eventMetrics(
  registry: Registry,
): Pick<Metrics, 'webhookAttempt' | 'notice' | 'eventsPending' | 'deliveryLeader'> {
  const attempts = new Counter({
    name: 'tfa_webhook_deliveries_total',
    help: 'Webhook attempts by outcome: delivered, failed (retried later), dead (given up)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tfa_webhook_delivery_duration_seconds',
    help: 'Time from a webhook request sent to its answer (or timeout)',
    labelNames: ['outcome'],
    buckets: WEBHOOK_BUCKETS,
    registers: [registry],
  });
  const notices = new Counter({
    name: 'tfa_security_notices_total',
    help: 'Security e-mails by outcome: sent, failed (retried later), dead (given up), skipped',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'tfa_event_deliveries_pending',
    help: 'Event deliveries not yet made, by kind of target (as last seen by the delivery leader)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'tfa_event_delivery_leader',
    help: '1 while this instance is the one delivering events',
    registers: [registry],
  });
  return {
    webhookAttempt(outcome, seconds) {
      attempts.inc({ outcome });
      duration.observe({ outcome }, seconds);
    },
    notice: (outcome) => notices.inc({ outcome }),
    eventsPending: (kind, count) => pending.set({ kind }, count),
    deliveryLeader: (leading) => leader.set(leading ? 1 : 0),
  };
}
