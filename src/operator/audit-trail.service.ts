import { iso, readCursor, readLimit, readTime, userNamed, type Operator, type OperatorDeps } from './operator.js';
import { auditPage, auditTail, type AuditEventRow, type AuditFilter } from './operator.repository.js';

/** The audit trail for operators (README, "Operator API"): filters, and keyset paging by id. */
export interface AuditQuery {
  user?: string;
  type?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: string | number;
}

function view(row: AuditEventRow) {
  return {
    id: String(row.id),
    user_id: row.user_id,
    type: row.type,
    at: iso(row.at),
    ip: row.ip,
    user_agent: row.user_agent,
    details: row.details,
  };
}

async function readFilter(deps: OperatorDeps, q: AuditQuery): Promise<AuditFilter> {
  const filter: AuditFilter = {};
  if (q.user !== undefined && q.user !== '') filter.userId = (await userNamed(deps.db, q.user)).id;
  if (q.type !== undefined && q.type !== '') filter.type = q.type.slice(0, 64);
  filter.since = readTime(q.since, 'since');
  filter.until = readTime(q.until, 'until');
  return filter;
}

/**
 * Rows after the cursor, oldest first. `next_cursor` is the id of the last row
 * returned (or the cursor given when none was): asking again with it returns
 * rows written since, so a client paging to the end and polling sees every row
 * exactly once. Reading the trail is itself audited, at the first page of a
 * reading (no cursor), so that paging never chases its own rows.
 */
export async function auditTrail(deps: OperatorDeps, op: Operator, q: AuditQuery) {
  const after = readCursor(q.cursor);
  const limit = readLimit(q.limit);
  const filter = await readFilter(deps, q);
  const rows = await auditPage(deps.db, filter, after, limit);
  if (q.cursor === undefined || q.cursor === '') await recordRead(deps, op, filter);
  const last = rows.at(-1);
  return { events: rows.map(view), next_cursor: last ? String(last.id) : after === '0' ? null : after };
}

/** The newest rows matching the filter, oldest first (`audit:tail`). */
export async function auditRecent(deps: OperatorDeps, op: Operator, q: Omit<AuditQuery, 'cursor'>) {
  const filter = await readFilter(deps, q);
  const rows = (await auditTail(deps.db, filter, readLimit(q.limit ?? 20))).reverse();
  await recordRead(deps, op, filter);
  return { events: rows.map(view) };
}

function recordRead(deps: OperatorDeps, op: Operator, filter: AuditFilter): Promise<void> {
  const details = { operator: op.name, ...(filter.type ? { filter_type: filter.type } : {}) };
  return deps.audit.record(deps.db, 'operator.audit_read', filter.userId ?? null, op.audit, details);
}
