import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import type { PolicySubject } from './two-factor-policy.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * The per-user two-factor requirement (users:require-2fa; an operator API can
 * call this too). Returns false when there is no such user.
 */
export async function setTwoFactorRequired(db: Db, userId: number, required: boolean): Promise<boolean> {
  const r = await db.updateTable('users').set({ tf_required: required }).where('id', '=', userId).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Starts the user's enrolment grace period if it has not started: one
 * statement, so concurrent first sign-ins agree on one start. Returns the start.
 */
export async function startGracePeriod(db: Db, userId: number, now: Date): Promise<Date | null> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ tf_grace_started_at: eb.fn.coalesce('tf_grace_started_at', eb.val(now)) }))
    .where('id', '=', userId)
    .returning('tf_grace_started_at')
    .executeTakeFirst();
  return row?.tf_grace_started_at ?? null;
}

/** Revokes a role; false if the user did not have it. The role itself stays. */
export async function revokeRole(db: Db, userId: number, role: string): Promise<boolean> {
  const r = await db
    .deleteFrom('roles_users')
    .where('user_id', '=', userId)
    .where('role_id', 'in', (qb) => qb.selectFrom('roles').select('id').where('name', '=', role))
    .executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

/**
 * A user's role names, sorted, as a column of a statement that has the user's
 * id in `userIdColumn` (e.g. 'u.id'): the policy reads them with the session or
 * token, in the statement that loads it.
 */
export function roleNames(userIdColumn: string): RawBuilder<string[]> {
  return sql<string[]>`(select coalesce(array_agg(r.name order by r.name), '{}') from roles_users ru
    join roles r on r.id = ru.role_id where ru.user_id = ${sql.ref(userIdColumn)})`;
}

/** The user's columns the policy reads (roles through roleNames), as the policy takes them; null columns of an outer join read as unset. */
export function policySubject(columns: {
  roles: readonly string[] | null;
  tf_required: boolean | null;
  tf_grace_started_at: Date | null;
}): PolicySubject {
  return {
    roles: columns.roles ?? [],
    tfRequired: columns.tf_required === true,
    graceStartedAt: columns.tf_grace_started_at ?? null,
  };
}

/** What the policy reads of a user, roles included, in one statement (GET /me). */
export async function policySubjectOf(db: Db, userId: number): Promise<PolicySubject | undefined> {
  const row = await db
    .selectFrom('users as u')
    .select(['u.tf_required', 'u.tf_grace_started_at', roleNames('u.id').as('roles')])
    .where('u.id', '=', userId)
    .executeTakeFirst();
  return row && policySubject(row);
}
