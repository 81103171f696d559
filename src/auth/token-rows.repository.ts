import type { Kysely, Transaction } from 'kysely';
import { withStatement } from '../db/cte.js';
import type { DB } from '../db/types.js';
import { roleNames } from '../policy/policy.repository.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface NewTokenRow {
  id: string;
  userId: number;
  signinId: string;
  issuedAt: Date;
  expiresAt: Date;
}

export async function insertAuthToken(db: Db, row: NewTokenRow): Promise<void> {
  await db
    .insertInto('auth_tokens')
    .values({
      id: row.id,
      user_id: row.userId,
      signin_id: row.signinId,
      issued_at: row.issuedAt,
      expires_at: row.expiresAt,
    })
    .execute();
}

/**
 * What a token needs of its user, and its own row when it names one, in one
 * round trip (auth/token-auth.ts). The row must belong to the same user.
 */
export function findTokenHolder(db: Db, userId: number, tokenId: string | null) {
  return db
    .selectFrom('users as u')
    .leftJoin('auth_tokens as t', (join) => join.onRef('t.user_id', '=', 'u.id').on('t.id', '=', tokenId ?? ''))
    .select([
      'u.id',
      'u.email',
      'u.fs_uniquifier',
      'u.tf_primary_method',
      'u.active',
      'u.tf_required',
      'u.tf_grace_started_at',
      roleNames('u.id').as('roles'),
      't.id as token_id',
      't.signin_id',
      't.expires_at as token_expires_at',
      't.revoked_at',
    ])
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

/**
 * Signing out: every auth token and refresh token the sign-in issued is
 * revoked, in one statement (a data-modifying CTE), on every instance at once.
 */
export async function revokeSignIn(db: Db, signinId: string, now: Date): Promise<number> {
  const r = await withStatement(
    db.with('refresh', (qb) =>
      qb
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('signin_id', '=', signinId)
        .where('revoked_at', 'is', null),
    ),
  )
    .updateTable('auth_tokens')
    .set({ revoked_at: now })
    .where('signin_id', '=', signinId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Rows past their expiry are ours to delete (app.ts housekeeping); a revoked row goes when it would have expired. */
export async function pruneTokenRows(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('auth_tokens').where('expires_at', '<=', now).execute();
  await db.deleteFrom('refresh_tokens').where('expires_at', '<=', now).execute();
}
