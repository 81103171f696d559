import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import type { ThrottleState } from './throttle-policy.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Creates the rows if needed and locks them for the rest of the transaction, in
 * one statement: the no-op DO UPDATE takes the row lock even when the row exists, so
 * concurrent attempts on one key queue here (a SELECT … FOR UPDATE cannot lock a
 * row that does not exist yet). The rows are taken in the order given, so callers
 * that always name them in one order (pair, then IP) never wait on each other in a
 * cycle. A new row starts "forgotten" (forget_at = now), the same as no row.
 */
export async function lockThrottles(
  trx: Transaction<DB>,
  keys: readonly { key: string; scope: 'pair' | 'ip' }[],
  now: Date,
): Promise<Map<string, ThrottleState>> {
  const rows = await trx
    .insertInto('password_throttle')
    .values(keys.map(({ key, scope }) => ({ key, scope, failures: 0, blocked_until: null, forget_at: now })))
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ failures: eb.ref('password_throttle.failures') })))
    .returning(['key', 'failures', 'blocked_until', 'forget_at'])
    .execute();
  return new Map(
    rows.map((r) => [r.key, { failures: r.failures, blockedUntil: r.blocked_until, forgetAt: r.forget_at }]),
  );
}

/** Writes the new states of locked rows, all in one statement. */
export async function saveThrottles(
  trx: Transaction<DB>,
  states: readonly { key: string; state: ThrottleState }[],
): Promise<void> {
  // The casts give the parameters the columns' types, which a VALUES list in FROM does not infer.
  const values = states.map(
    ({ key, state: s }) =>
      sql`(${key}::varchar, ${s.failures}::integer, ${s.blockedUntil}::timestamptz, ${s.forgetAt}::timestamptz)`,
  );
  await sql`update password_throttle as t
    set failures = v.failures, blocked_until = v.blocked_until, forget_at = v.forget_at
    from (values ${sql.join(values)}) as v (key, failures, blocked_until, forget_at)
    where t.key = v.key`.execute(trx);
}

/**
 * A charged attempt turned out to be a success, in one statement: the pair row
 * is deleted (its failures start over) and the IP row gets the attempt back. The
 * delay that attempt started on the IP (if any) is lifted only if nobody has
 * replaced it since: compare-and-set.
 */
export async function settleSuccess(
  db: Db,
  pairKey: string,
  ipKey: string,
  startedDelay: Date | null,
  previousBlock: Date | null,
): Promise<void> {
  await db
    .with('cleared', (qb) => qb.deleteFrom('password_throttle').where('key', '=', pairKey).returning('key'))
    .updateTable('password_throttle')
    .set((eb) => ({
      failures: eb.fn('greatest', [eb('failures', '-', 1), eb.lit(0)]),
      ...(startedDelay
        ? {
            blocked_until: eb
              .case()
              .when('blocked_until', '=', startedDelay)
              .then(previousBlock)
              .else(eb.ref('blocked_until'))
              .end(),
          }
        : {}),
    }))
    .where('key', '=', ipKey)
    // Always true, but it reads `cleared`, so the pair row is deleted (locked) before the IP
    // row is: the order lockThrottles takes them in. Postgres runs the CTEs of a statement in
    // no set order otherwise, and the two orders together deadlock under a burst.
    .where((eb) =>
      eb(
        eb.selectFrom('cleared').select((e) => e.fn.countAll().as('n')),
        '>=',
        0,
      ),
    )
    .execute();
}

/** Rows whose failures are forgotten carry no information any more. */
export async function pruneThrottles(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('password_throttle').where('forget_at', '<=', now).execute();
}
