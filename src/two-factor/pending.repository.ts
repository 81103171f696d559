import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { DB, TfPendingTable } from '../db/types.js';

export type Pending = Selectable<TfPendingTable>;
type Db = Kysely<DB> | Transaction<DB>;

export function findPending(db: Db, id: string, now: Date): Promise<Pending | undefined> {
  return db.selectFrom('tf_pending').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst();
}

export async function insertPending(db: Db, row: Insertable<TfPendingTable>): Promise<void> {
  await db.insertInto('tf_pending').values(row).execute();
}

export async function updatePending(db: Db, id: string, changes: Updateable<TfPendingTable>): Promise<void> {
  await db.updateTable('tf_pending').set(changes).where('id', '=', id).execute();
}

/** Deleting the row is what voids a pending sign-in; returns whether this call did it. */
export async function deletePending(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('tf_pending').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Charges one attempt before the code is checked (STYLE habit 4). The
 * database decides under concurrency: past the cap no row comes back.
 */
export async function chargeAttempt(db: Db, id: string, max: number): Promise<number | null> {
  const row = await db
    .updateTable('tf_pending')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('attempts', '<', max)
    .returning('attempts')
    .executeTakeFirst();
  return row ? row.attempts : null;
}

/** Consumes the one-time code if its hash matches and it has not expired: single use, race-free. */
export async function consumeCode(db: Db, id: string, codeHash: string, now: Date): Promise<boolean> {
  const r = await db
    .updateTable('tf_pending')
    .set({ code_hash: null, code_expires_at: null })
    .where('id', '=', id)
    .where('code_hash', '=', codeHash)
    .where('code_expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function pruneExpiredPending(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('tf_pending').where('expires_at', '<=', now).execute();
}
