import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

export type Charge = { ok: true; failures: number } | { ok: false; lockedUntil: Date };

/**
 * Charges one second-factor attempt to the user before the code is checked
 * (SPEC §4.2). While a lock holds, nothing is charged and the lock is returned.
 */
export async function chargeUserAttempt(db: Db, userId: number, now: Date): Promise<Charge> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ tf_failures: eb('tf_failures', '+', 1) }))
    .where('id', '=', userId)
    .where((eb) => eb.or([eb('tf_locked_until', 'is', null), eb('tf_locked_until', '<=', now)]))
    .returning('tf_failures')
    .executeTakeFirst();
  if (row) return { ok: true, failures: row.tf_failures };
  const locked = await db.selectFrom('users').select('tf_locked_until').where('id', '=', userId).executeTakeFirst();
  return { ok: false, lockedUntil: locked?.tf_locked_until ?? now };
}

/**
 * Locks once the threshold is reached: 15 minutes, doubling with every
 * repeat (SPEC §4.2). Only the request that crosses the line sets the lock.
 */
export async function lockIfOverThreshold(db: Db, userId: number, threshold: number, baseSeconds: number, now: Date): Promise<Date | null> {
  // One statement: the same UPDATE that sees the threshold crossed sets the lock,
  // so no concurrent request slips a check in between. 2^n × base, capped at 2^10.
  const row = await db
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

/** A passed second factor ends the run of failures and the doubling. */
export async function resetFailures(db: Db, userId: number): Promise<void> {
  await db.updateTable('users').set({ tf_failures: 0, tf_lockouts: 0, tf_locked_until: null }).where('id', '=', userId).execute();
}
