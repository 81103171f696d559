import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DB, UsersTable } from '../db/types.js';

export type User = Selectable<UsersTable>;
type Db = Kysely<DB> | Transaction<DB>;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email_normalized', '=', normalizeEmail(email)).executeTakeFirst();
}

export function findUserById(db: Db, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** What an Authentication-Token needs of its user (http/auth-context.ts's SessionUser, and `active`). */
export function findTokenUser(db: Db, id: number) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'fs_uniquifier', 'tf_primary_method', 'active'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export interface NewUser {
  email: string;
  passwordHash: string;
  fsUniquifier: string;
  confirmedAt?: Date | null;
}

/** Inserts unless the e-mail exists; returns undefined on a duplicate (no race window). */
export async function insertUser(db: Db, u: NewUser): Promise<User | undefined> {
  return db
    .insertInto('users')
    .values({
      email: u.email.trim(),
      email_normalized: normalizeEmail(u.email),
      password: u.passwordHash,
      fs_uniquifier: u.fsUniquifier,
      confirmed_at: u.confirmedAt ?? null,
    })
    .onConflict((oc) => oc.column('email_normalized').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function updatePassword(
  db: Db,
  userId: number,
  passwordHash: string,
  fsUniquifier: string,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ password: passwordHash, fs_uniquifier: fsUniquifier })
    .where('id', '=', userId)
    .execute();
}

export async function setActive(db: Db, userId: number, active: boolean, fsUniquifier: string): Promise<void> {
  await db.updateTable('users').set({ active, fs_uniquifier: fsUniquifier }).where('id', '=', userId).execute();
}

/** The user's second factor, gone (`setup: "disable"`); the failure run and lockout are kept. */
export const SECOND_FACTOR_CLEARED = {
  tf_primary_method: null,
  tf_totp_secret: null,
  tf_phone_number: null,
  tf_totp_last_step: null,
} as const;

/** A finished second factor (or a help-desk reset) ends the run of failures and the lockout's doubling. */
export const FAILURE_RUN_RESET = { tf_failures: 0, tf_lockouts: 0, tf_locked_until: null } as const;

export async function clearSecondFactor(db: Db, userId: number): Promise<void> {
  await db.updateTable('users').set(SECOND_FACTOR_CLEARED).where('id', '=', userId).execute();
}

/**
 * A help-desk reset (users:reset-2fa): no second factor, no failure run, and a
 * new fs_uniquifier that ends every session, token and remembered device at once.
 */
export async function resetSecondFactor(db: Db, userId: number, fsUniquifier: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ ...SECOND_FACTOR_CLEARED, ...FAILURE_RUN_RESET, fs_uniquifier: fsUniquifier })
    .where('id', '=', userId)
    .execute();
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function userRoles(db: Db, userId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('roles_users')
    .innerJoin('roles', 'roles.id', 'roles_users.role_id')
    .select('roles.name')
    .where('roles_users.user_id', '=', userId)
    .execute();
  return rows.map((r) => r.name);
}

export async function grantRole(db: Db, userId: number, role: string): Promise<void> {
  await db
    .insertInto('roles')
    .values({ name: role, description: null })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const r = await db.selectFrom('roles').select('id').where('name', '=', role).executeTakeFirstOrThrow();
  await db
    .insertInto('roles_users')
    .values({ user_id: userId, role_id: r.id })
    .onConflict((oc) => oc.columns(['user_id', 'role_id']).doNothing())
    .execute();
}

/** The users with a TOTP secret, for `keys:rotate` (docs/architecture.md, Secrets at rest). */
export function usersWithTotpSecret(db: Db): Promise<{ id: number; tf_totp_secret: string | null }[]> {
  return db.selectFrom('users').select(['id', 'tf_totp_secret']).where('tf_totp_secret', 'is not', null).execute();
}

/**
 * Replaces a user's TOTP secret with its re-encryption, compare-and-set: a
 * secret changed meanwhile by a new setup is left to that setup.
 */
export async function replaceTotpSecret(db: Db, userId: number, was: string, fresh: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ tf_totp_secret: fresh })
    .where('id', '=', userId)
    .where('tf_totp_secret', '=', was)
    .execute();
}
