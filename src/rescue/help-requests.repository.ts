import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Claims the user's help-desk slot if the last notice is older than `cutoff`
 * (or there is none). One statement: of concurrent claims exactly one gets a
 * row back; the others see the winner's sent_at and get nothing.
 */
export async function claimHelpRequest(db: Db, userId: number, now: Date, cutoff: Date): Promise<boolean> {
  const row = await db
    .insertInto('tf_help_requests')
    .values({ user_id: userId, sent_at: now })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({ sent_at: now }).where('tf_help_requests.sent_at', '<=', cutoff),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function lastHelpRequest(db: Db, userId: number): Promise<Date | null> {
  const row = await db
    .selectFrom('tf_help_requests')
    .select('sent_at')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? new Date(row.sent_at) : null;
}

/** A notice the mail provider refused was never sent: give the slot back (only our own claim). */
export async function releaseHelpRequest(db: Db, userId: number, claimedAt: Date): Promise<void> {
  await db.deleteFrom('tf_help_requests').where('user_id', '=', userId).where('sent_at', '=', claimedAt).execute();
}
