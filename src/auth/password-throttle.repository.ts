import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import type { ThrottleState } from './throttle-policy.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Creates the row if needed and locks it for the rest of the transaction, in one
 * statement: the no-op DO UPDATE takes the row lock even when the row exists, so
 * concurrent attempts on one key queue here (a SELECT … FOR UPDATE cannot lock a
 * row that does not exist yet). A new row starts "forgotten" (forget_at = now).
 */
export async function lockThrottle(trx: Transaction<DB>, key: string, scope: 'pair' | 'ip', now: Date): Promise<ThrottleState> {
  const row = await trx
    .insertInto('password_throttle')
    .values({ key, scope, failures: 0, blocked_until: null, forget_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ failures: eb.ref('password_throttle.failures') })))
    .returning(['failures', 'blocked_until', 'forget_at'])
    .executeTakeFirstOrThrow();
  return { failures: row.failures, blockedUntil: row.blocked_until, forgetAt: row.forget_at };
}

export async function saveThrottle(trx: Transaction<DB>, key: string, state: ThrottleState): Promise<void> {
  await trx
    .updateTable('password_throttle')
    .set({ failures: state.failures, blocked_until: state.blockedUntil, forget_at: state.forgetAt })
    .where('key', '=', key)
    .execute();
}

export async function clearThrottle(db: Db, key: string): Promise<void> {
  await db.deleteFrom('password_throttle').where('key', '=', key).execute();
}

/**
 * Takes back one charged attempt that turned out to be a success. The delay that
 * attempt started (if any) is lifted only if nobody has replaced it since:
 * compare-and-set in one statement.
 */
export async function refundThrottle(db: Db, key: string, startedDelay: Date | null, previousBlock: Date | null): Promise<void> {
  await db
    .updateTable('password_throttle')
    .set((eb) => ({
      failures: eb.fn('greatest', [eb('failures', '-', 1), eb.lit(0)]),
      ...(startedDelay ? { blocked_until: eb.case().when('blocked_until', '=', startedDelay).then(previousBlock).else(eb.ref('blocked_until')).end() } : {}),
    }))
    .where('key', '=', key)
    .execute();
}

/** Rows whose failures are forgotten carry no information any more. */
export async function pruneThrottles(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('password_throttle').where('forget_at', '<=', now).execute();
}
