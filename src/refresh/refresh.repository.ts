import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface NewFamily {
  family: string;
  userId: number;
  signinId: string;
  authAt: Date;
  tfAt: Date | null;
  methods: string[];
  now: Date;
  expiresAt: Date;
}

export async function insertRefreshFamily(db: Db, f: NewFamily): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      family: f.family,
      user_id: f.userId,
      signin_id: f.signinId,
      auth_at: f.authAt,
      tf_at: f.tfAt,
      authn_methods: JSON.stringify(f.methods),
      last_used_at: f.now,
      expires_at: f.expiresAt,
    })
    .execute();
}

/** A family and its user (the fs_uniquifier that checks the token's signature). */
export function findRefreshFamily(db: Db, family: string) {
  return db
    .selectFrom('refresh_tokens as r')
    .innerJoin('users as u', 'u.id', 'r.user_id')
    .select([
      'r.family',
      'r.user_id',
      'r.signin_id',
      'r.gen',
      'r.auth_at',
      'r.tf_at',
      'r.authn_methods',
      'r.last_used_at',
      'r.expires_at',
      'r.revoked_at',
      'u.email',
      'u.fs_uniquifier',
      'u.tf_primary_method',
      'u.active',
    ])
    .where('r.family', '=', family)
    .executeTakeFirst();
}

/**
 * Rotation, consume-once: only the request that presents the current
 * generation of a live family moves it on; a concurrent twin finds no row.
 */
export async function rotateFamily(db: Db, family: string, gen: number, now: Date): Promise<number | null> {
  const row = await db
    .updateTable('refresh_tokens')
    .set((eb) => ({ gen: eb('gen', '+', 1), last_used_at: now }))
    .where('family', '=', family)
    .where('gen', '=', gen)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('gen')
    .executeTakeFirst();
  return row?.gen ?? null;
}
