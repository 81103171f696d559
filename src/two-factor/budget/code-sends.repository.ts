import type { Kysely } from 'kysely';
import type { DB } from '../../db/types.js';

type Send = { user_id: number; destination: string; sent_at: Date };

/**
 * Runs `decide` on the last hour's sends of this user or to this destination
 * and records a new send if it allows, in one transaction holding the user's
 * row lock, so concurrent requests for one user are counted one by one.
 * Returns the new send's id; `decide` throws to refuse.
 */
export function recordSendIf(
  db: Kysely<DB>,
  c: { userId: number; destination: string; now: Date; since: Date },
  decide: (sends: Send[]) => void,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await trx.selectFrom('users').select('id').where('id', '=', c.userId).forUpdate().execute();
    const rows = await trx
      .selectFrom('tf_code_sends')
      .select(['user_id', 'destination', 'sent_at'])
      .where('sent_at', '>', c.since)
      .where((eb) => eb.or([eb('user_id', '=', c.userId), eb('destination', '=', c.destination)]))
      .orderBy('sent_at', 'asc')
      .execute();
    decide(rows);
    const row = await trx
      .insertInto('tf_code_sends')
      .values({ user_id: c.userId, destination: c.destination, sent_at: c.now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}

/** A send the provider refused does not count against the user. */
export async function deleteSend(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('tf_code_sends').where('id', '=', id).execute();
}

export async function deleteSendsBefore(db: Kysely<DB>, before: Date): Promise<void> {
  await db.deleteFrom('tf_code_sends').where('sent_at', '<', before).execute();
}
