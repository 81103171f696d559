import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Replaces every code of the user. The caller's transaction first locks the
 * user's row, so two generations at once run one after the other and the
 * second deletes what the first inserted: the user never holds two sets.
 */
export async function replaceRecoveryCodes(
  trx: Transaction<DB>,
  userId: number,
  hashes: readonly string[],
  now: Date,
): Promise<void> {
  await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
  await trx.deleteFrom('tf_recovery_codes').where('user_id', '=', userId).execute();
  if (hashes.length) {
    await trx
      .insertInto('tf_recovery_codes')
      .values(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null, created_at: now })))
      .execute();
  }
}

export async function countUnusedRecoveryCodes(db: Db, userId: number): Promise<number> {
  const row = await db
    .selectFrom('tf_recovery_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Single use, decided by the database (STYLE habit 6): of several requests
 * with the same code only the one whose UPDATE finds `used_at IS NULL` wins.
 */
export async function consumeRecoveryCode(db: Db, userId: number, codeHash: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('tf_recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteRecoveryCodes(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('tf_recovery_codes').where('user_id', '=', userId).execute();
}
