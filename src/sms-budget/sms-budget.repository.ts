import type { Transaction } from 'kysely';
import type { DB } from '../db/types.js';

/**
 * Locks the budget row, forgets sends older than `since` (no limit looks
 * further back), and returns the rest in time order. Every reservation, on
 * every instance, holds this lock from the count to its insert.
 */
export async function lockAndReadSends(
  trx: Transaction<DB>,
  since: Date,
): Promise<Array<{ sent_at: Date; ip_hash: string }>> {
  await trx.selectFrom('sms_budget_lock').select('id').where('id', '=', 1).forUpdate().execute();
  await trx.deleteFrom('sms_sends').where('sent_at', '<=', since).execute();
  const rows = await trx
    .selectFrom('sms_sends')
    .select(['sent_at', 'ip_hash'])
    .orderBy('sent_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ sent_at: new Date(r.sent_at), ip_hash: r.ip_hash }));
}

export async function recordSend(trx: Transaction<DB>, at: Date, ipHash: string): Promise<void> {
  await trx.insertInto('sms_sends').values({ sent_at: at, ip_hash: ipHash }).execute();
}
