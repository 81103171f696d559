import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { DB, TfDevicesTable } from '../db/types.js';

export type Device = Selectable<TfDevicesTable>;
type Db = Kysely<DB> | Transaction<DB>;

export async function insertDevice(db: Db, row: Insertable<TfDevicesTable>): Promise<void> {
  await db.insertInto('tf_devices').values(row).execute();
}

/**
 * A remembered device counts only for its own user, before its expiry, and
 * while the user's fs_uniquifier is the one it was made under (password
 * change, reset and revocation all end it). Marks it used in the same statement.
 */
export async function useDevice(
  db: Db,
  tokenHash: string,
  userId: number,
  fsUniquifier: string,
  now: Date,
): Promise<Device | undefined> {
  return db
    .updateTable('tf_devices')
    .set({ last_used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('user_id', '=', userId)
    .where('fs_uniquifier', '=', fsUniquifier)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}

export function listDevices(db: Db, userId: number, fsUniquifier: string, now: Date): Promise<Device[]> {
  return db
    .selectFrom('tf_devices')
    .selectAll()
    .where('user_id', '=', userId)
    .where('fs_uniquifier', '=', fsUniquifier)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

export async function deleteDevice(db: Db, userId: number, id: string): Promise<boolean> {
  const r = await db.deleteFrom('tf_devices').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function deleteUserDevices(db: Db, userId: number): Promise<number> {
  const r = await db.deleteFrom('tf_devices').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows);
}
