import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuditRow } from '../../audit/audit.js';
import { withStatement } from '../../db/cte.js';
import type { DB } from '../../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Locks once the threshold is reached: 15 minutes, doubling with every
 * repeat (README configuration: SECURITY_TWO_FACTOR_LOCKOUT_*). Only the request that crosses the line sets the lock.
 * `audit` (the tf.failed row that led here) is written by the same statement.
 */
export async function lockIfOverThreshold(
  db: Db,
  userId: number,
  threshold: number,
  baseSeconds: number,
  now: Date,
  audit?: AuditRow,
): Promise<Date | null> {
  // One statement: the same UPDATE that sees the threshold crossed sets the lock,
  // so no concurrent request slips a check in between. 2^n × base, capped at 2^10.
  const q = audit ? withStatement(db.with('audit', (qb) => qb.insertInto('audit_events').values(audit))) : db;
  const row = await q
    .updateTable('users')
    .set((eb) => ({
      tf_failures: 0,
      tf_lockouts: eb('tf_lockouts', '+', 1),
      tf_locked_until: sql<Date>`${now}::timestamptz + make_interval(secs => ${baseSeconds}::double precision * power(2, least(${eb.ref('tf_lockouts')}, 10)))`,
    }))
    .where('id', '=', userId)
    .where('tf_failures', '>=', threshold)
    .returning('tf_locked_until')
    .executeTakeFirst();
  return row?.tf_locked_until ?? null;
}

/**
 * Takes back the failure charged for a guess that turned out not to be one (refused
 * unchecked, or a replay of a code accepted a moment ago). Never below zero: a lock
 * or a success may have reset the run meanwhile.
 */
export async function unchargeFailure(db: Db, userId: number): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ tf_failures: sql<number>`greatest(${eb.ref('tf_failures')} - 1, 0)` }))
    .where('id', '=', userId)
    .execute();
}
