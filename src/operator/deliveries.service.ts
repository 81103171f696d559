import { AppError } from '../errors.js';
import {
  deadPage,
  EMAIL_TARGET,
  requeueDead,
  type DeadDelivery,
  type DeadFilter,
  webhookUrlOf,
} from '../events/events.repository.js';
import { iso, readCursor, readLimit, readTime, type Operator, type OperatorDeps } from './operator.js';

/**
 * Dead letters (README, "Webhooks"): deliveries given up after
 * WEBHOOK_GIVE_UP_AFTER, listed for an operator and put back in the queue
 * once the receiver (or the e-mail provider) works again.
 */
export interface DeadQuery {
  kind?: string;
  since?: string;
  cursor?: string;
  limit?: string | number;
}

function readFilter(q: Pick<DeadQuery, 'kind' | 'since'>): DeadFilter {
  const filter: DeadFilter = { since: readTime(q.since, 'since') };
  if (q.kind === 'email' || q.kind === 'webhook') filter.kind = q.kind;
  else if (q.kind !== undefined && q.kind !== '') throw new AppError('API_ERROR', { field: 'kind' });
  return filter;
}

/** A webhook's receiver without its query or credentials (a URL may carry a token there), as the log names it. */
function receiverOf(target: string): string {
  if (target === EMAIL_TARGET) return EMAIL_TARGET;
  const url = new URL(webhookUrlOf(target));
  return `${url.origin}${url.pathname}`;
}

function view(d: DeadDelivery) {
  return {
    id: d.id,
    event_id: d.event_id,
    type: d.type,
    user_id: d.user_id,
    at: iso(d.at),
    kind: d.target === EMAIL_TARGET ? 'email' : 'webhook',
    receiver: receiverOf(d.target),
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    queued_at: iso(d.created_at),
    given_up_at: iso(d.finished_at),
  };
}

/** One page of dead letters, oldest first by id; `next_cursor` as the audit trail's. Not audited: it reads no user's data. */
export async function deadDeliveries(deps: OperatorDeps, q: DeadQuery) {
  const after = readCursor(q.cursor);
  const limit = readLimit(q.limit);
  const rows = await deadPage(deps.db, readFilter(q), after, limit);
  const last = rows.at(-1);
  return { deliveries: rows.map(view), next_cursor: last ? last.id : after === '0' ? null : after };
}

/**
 * Requeues the dead letters that match, in one statement, and audits it with
 * the operator's name and the count (`operator.deliveries_retried`). Each is
 * tried again from now, with backoff, until WEBHOOK_GIVE_UP_AFTER after the retry.
 */
export async function retryDeadDeliveries(deps: OperatorDeps, op: Operator, q: Pick<DeadQuery, 'kind' | 'since'>) {
  const filter = readFilter(q);
  const retried = await deps.db.transaction().execute(async (trx) => {
    const n = await requeueDead(trx, filter, deps.clock.now());
    await deps.audit.record(trx, 'operator.deliveries_retried', null, op.audit, {
      operator: op.name,
      retried: n,
      ...(filter.kind ? { kind: filter.kind } : {}),
      ...(filter.since ? { since: filter.since.toISOString() } : {}),
    });
    return n;
  });
  return { retried };
}
