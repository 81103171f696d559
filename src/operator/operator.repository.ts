import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import { FAILURE_RUN_RESET } from '../users/users.repository.js';

type Db = Kysely<DB> | Transaction<DB>;

/** What a listing shows of a user: no password hash, TOTP secret, phone or fs_uniquifier (README, "Operator API"). */
export interface UserSummaryRow {
  id: number;
  email: string;
  active: boolean;
  created_at: Date;
  confirmed_at: Date | null;
  tf_primary_method: string | null;
  tf_locked_until: Date | null;
}

const SUMMARY = [
  'id',
  'email',
  'active',
  'created_at',
  'confirmed_at',
  'tf_primary_method',
  'tf_locked_until',
] as const;

/** One page of users by id, after `afterId` (keyset paging: stable while users are added). */
export function usersPage(db: Db, afterId: number, limit: number): Promise<UserSummaryRow[]> {
  return db.selectFrom('users').select(SUMMARY).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

/** The last completed sign-in (password and, if any, second factor) of a user, from the audit trail. */
export function lastSignIn(db: Db, userId: number): Promise<{ at: Date; ip: string | null } | undefined> {
  return db
    .selectFrom('audit_events')
    .select(['at', 'ip'])
    .where('user_id', '=', userId)
    .where('type', '=', 'signin.success')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Ends a second-factor lockout and the run that led to it (the next lockout starts from the base duration again). */
export async function unlockSecondFactor(db: Db, userId: number): Promise<void> {
  await db.updateTable('users').set(FAILURE_RUN_RESET).where('id', '=', userId).execute();
}

export interface AuditFilter {
  userId?: number;
  type?: string;
  since?: Date;
  until?: Date;
}

export interface AuditEventRow {
  id: string;
  user_id: number | null;
  type: string;
  at: Date;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

const AUDIT_SELECT = ['id', 'user_id', 'type', 'at', 'ip', 'user_agent', 'details'] as const;

function auditMatching(db: Db, filter: AuditFilter) {
  let q = db.selectFrom('audit_events').select(AUDIT_SELECT);
  if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
  if (filter.type !== undefined) q = q.where('type', '=', filter.type);
  if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
  if (filter.until !== undefined) q = q.where('at', '<', filter.until);
  return q;
}

/**
 * Audit rows in id order after the cursor `afterId`: rows written while an
 * operator pages come after the ones already seen, never twice or between pages.
 */
export function auditPage(db: Db, filter: AuditFilter, afterId: string, limit: number): Promise<AuditEventRow[]> {
  return auditMatching(db, filter).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

/** The newest `limit` rows matching the filter (for `audit:tail`), newest first. */
export function auditTail(db: Db, filter: AuditFilter, limit: number): Promise<AuditEventRow[]> {
  return auditMatching(db, filter).orderBy('id', 'desc').limit(limit).execute();
}
