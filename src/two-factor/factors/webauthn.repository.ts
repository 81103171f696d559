import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { DB, WebauthnChallengesTable, WebauthnCredentialsTable } from '../../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;
export type StoredKey = Selectable<WebauthnCredentialsTable>;
export type StoredChallenge = Selectable<WebauthnChallengesTable>;

/** Every security key of a user, oldest first (GET /wan-register, the CLI listing). */
export function userKeys(db: Db, userId: number): Promise<StoredKey[]> {
  return db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

export async function holdsKey(db: Db, userId: number): Promise<boolean> {
  const row = await db.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).executeTakeFirst();
  return row !== undefined;
}

export function keyById(db: Db, credentialId: string): Promise<StoredKey | undefined> {
  return db.selectFrom('webauthn_credentials').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
}

export async function keyNamed(db: Db, userId: number, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('webauthn_credentials')
    .select('id')
    .where('user_id', '=', userId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row !== undefined;
}

/** Stores a key; false when its id or its name (for this user) is taken, by a concurrent registration too. */
export async function insertKey(db: Db, row: Insertable<WebauthnCredentialsTable>): Promise<boolean> {
  const done = await db
    .insertInto('webauthn_credentials')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return done !== undefined;
}

export async function deleteKeyNamed(db: Db, userId: number, name: string): Promise<boolean> {
  const done = await db
    .deleteFrom('webauthn_credentials')
    .where('user_id', '=', userId)
    .where('name', '=', name)
    .returning('id')
    .executeTakeFirst();
  return done !== undefined;
}

/** users:reset-2fa: every key of the user goes. */
export async function deleteUserKeys(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('webauthn_credentials').where('user_id', '=', userId).execute();
}

/**
 * The signature counter only moves forward (WebAuthn §6.1.1): compared-and-set in one
 * statement, so of two assertions with one counter value only one is taken. A counter
 * that stays 0 is a key that keeps none. False: the counter went back (a cloned key?).
 */
export async function advanceCounter(
  db: Db,
  id: number,
  next: number,
  use: { backupState: boolean; now: Date },
): Promise<boolean> {
  const done = await db
    .updateTable('webauthn_credentials')
    .set({ sign_count: next, backup_state: use.backupState, last_used_at: use.now })
    .where('id', '=', id)
    // next 0: only a key that never counted (stored 0) may stay at 0.
    .where('sign_count', next === 0 ? '=' : '<', next)
    .returning('id')
    .executeTakeFirst();
  return done !== undefined;
}

/** The user's handle, made once: concurrent first registrations agree on one. */
export async function userHandle(db: Db, userId: number, fresh: string): Promise<string> {
  await db
    .insertInto('webauthn_user_handles')
    .values({ user_id: userId, handle: fresh })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute();
  const row = await db
    .selectFrom('webauthn_user_handles')
    .select('handle')
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.handle;
}

export async function insertChallenge(db: Db, row: Insertable<WebauthnChallengesTable>): Promise<void> {
  await db.insertInto('webauthn_challenges').values(row).execute();
}

/** A ceremony's challenge by its wan_state's hash, for its purpose and user (expired or used ones too). */
export function challengeFor(
  db: Db,
  tokenHash: string,
  scope: { purpose: StoredChallenge['purpose']; userId: number },
): Promise<StoredChallenge | undefined> {
  return db
    .selectFrom('webauthn_challenges')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', scope.purpose)
    .where('user_id', '=', scope.userId)
    .executeTakeFirst();
}

/** Uses a challenge up: one statement, so of concurrent requests with one wan_state only one passes. */
export async function consumeChallenge(db: Db, tokenHash: string, now: Date): Promise<boolean> {
  const done = await db
    .updateTable('webauthn_challenges')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('token_hash')
    .executeTakeFirst();
  return done !== undefined;
}

export async function pruneChallenges(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<', now).execute();
}

/** The user's handle, if a key was ever registered. */
export async function handleOf(db: Db, userId: number): Promise<string | null> {
  const row = await db
    .selectFrom('webauthn_user_handles')
    .select('handle')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.handle ?? null;
}
