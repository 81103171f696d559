import type { Kysely, Selectable, Transaction } from 'kysely';
import { AUDIT_COLUMNS, auditRowsIf, type AuditRow } from '../audit/audit.js';
import type { DB, UsMethodsTable } from '../db/types.js';
import { FAILURE_RUN_RESET, type User } from '../users/users.repository.js';

export type UsMethodRow = Selectable<UsMethodsTable>;
export type SetupMethod = UsMethodsTable['method'];
type Db = Kysely<DB> | Transaction<DB>;

/** The unified sign-in methods a user set up (the password is not a row: every user has one). */
export function findUsMethods(db: Db, userId: number): Promise<UsMethodRow[]> {
  return db.selectFrom('us_methods').selectAll().where('user_id', '=', userId).execute();
}

export interface CodeSignIn {
  pendingId: string;
  userId: number;
  fsUniquifier: string;
  /** An authenticator code's TOTP step: compared-and-set, so a step passes once (replay). */
  step?: { value: number } | undefined;
  /** At least one row (us.code_passed), written only if the code passed. */
  audit: readonly AuditRow[];
}

/**
 * A passcode that is a code passed: in one statement the authenticator's step is
 * compared-and-set (s), the pending row deleted (p: only one request deletes it,
 * and only if the step was new), the user's failure run ended while the user is
 * still active and unchanged (u), and the audit rows written (a). Undefined when
 * a concurrent request won: the answer is then a replay, not a sign-in.
 */
export async function finishCodePasscode(db: Db, c: CodeSignIn): Promise<User | undefined> {
  const step = c.step?.value;
  return db
    .with('s', (qb) =>
      qb
        // Only an authenticator's row holds a secret, so this is its row.
        .updateTable('us_methods')
        .set({ totp_last_step: step ?? null })
        .where('user_id', '=', c.userId)
        .where('totp_secret', 'is not', null)
        .where((eb) =>
          eb.and([
            eb.lit(step !== undefined),
            eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step ?? 0)]),
          ]),
        )
        .returning('user_id'),
    )
    .with('p', (qb) =>
      qb
        .deleteFrom('tf_pending')
        .where('id', '=', c.pendingId)
        .where('user_id', '=', c.userId)
        .where((eb) => (step === undefined ? eb.lit(true) : eb.exists(eb.selectFrom('s').select('s.user_id'))))
        .returning('user_id'),
    )
    .with('u', (qb) =>
      qb
        .updateTable('users')
        .set(FAILURE_RUN_RESET)
        .where('id', 'in', (eb) => eb.selectFrom('p').select('p.user_id'))
        .where('active', '=', true)
        .where('fs_uniquifier', '=', c.fsUniquifier)
        .returningAll(),
    )
    .with('a', (qb) => qb.insertInto('audit_events').columns(AUDIT_COLUMNS).expression(auditRowsIf(c.audit, 'u')))
    .selectFrom('u')
    .selectAll()
    .executeTakeFirst();
}

export interface SetupConfirmation {
  pendingId: string;
  userId: number;
  fsUniquifier: string;
  method: SetupMethod;
  secret: string | null;
  phone: string | null;
  step: number | null;
  now: Date;
  audit: readonly AuditRow[];
}

/**
 * /us-setup/{token} passed: the pending setup is deleted (p, once, while its user is
 * active and unchanged), the method stored or replaced (m, from what the pending row
 * kept: nothing was stored before this proof), the failure run ended (u), the audit
 * rows written (a). False when a concurrent request confirmed it first.
 */
export async function confirmUsSetup(db: Db, c: SetupConfirmation): Promise<boolean> {
  const row = await db
    .with('p', (qb) =>
      qb
        .deleteFrom('tf_pending')
        .where('id', '=', c.pendingId)
        .where('kind', '=', 'us_setup')
        .where('user_id', '=', c.userId)
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('users')
              .select('users.id')
              .where('users.id', '=', c.userId)
              .where('users.active', '=', true)
              .where('users.fs_uniquifier', '=', c.fsUniquifier),
          ),
        )
        .returning('user_id'),
    )
    .with('m', (qb) =>
      qb
        .insertInto('us_methods')
        .columns(['user_id', 'method', 'totp_secret', 'phone', 'totp_last_step', 'created_at'])
        .expression((eb) =>
          eb
            .selectFrom('p')
            .select([
              'p.user_id',
              eb.val(c.method).as('method'),
              eb.val(c.secret).as('totp_secret'),
              eb.val(c.phone).as('phone'),
              eb.val(c.step).as('totp_last_step'),
              eb.val(c.now).as('created_at'),
            ]),
        )
        .onConflict((oc) =>
          oc.columns(['user_id', 'method']).doUpdateSet((eb) => ({
            totp_secret: eb.ref('excluded.totp_secret'),
            phone: eb.ref('excluded.phone'),
            totp_last_step: eb.ref('excluded.totp_last_step'),
            created_at: eb.ref('excluded.created_at'),
          })),
        )
        .returning('user_id'),
    )
    .with('u', (qb) =>
      qb
        .updateTable('users')
        .set(FAILURE_RUN_RESET)
        .where('id', 'in', (eb) => eb.selectFrom('m').select('m.user_id'))
        .returning('id'),
    )
    .with('a', (qb) => qb.insertInto('audit_events').columns(AUDIT_COLUMNS).expression(auditRowsIf(c.audit, 'u')))
    .selectFrom('u')
    .select('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** /us-setup `delete_method`: the user's rows of these methods go, with the audit row, in one statement. */
export async function deleteUsMethods(
  db: Db,
  userId: number,
  methods: readonly SetupMethod[],
  audit: AuditRow,
): Promise<void> {
  await db
    .with('d', (qb) =>
      qb.deleteFrom('us_methods').where('user_id', '=', userId).where('method', 'in', methods).returning('user_id'),
    )
    .insertInto('audit_events')
    .values(audit)
    .execute();
}

/** The authenticator secrets, for `keys:rotate` (docs/architecture.md, Secrets at rest). */
export function usSecrets(db: Db): Promise<{ user_id: number; totp_secret: string | null }[]> {
  return db.selectFrom('us_methods').select(['user_id', 'totp_secret']).where('totp_secret', 'is not', null).execute();
}

/** Compare-and-set, as keys:rotate does for the users' secrets: a secret changed meanwhile is left alone. */
export async function replaceUsSecret(db: Db, userId: number, old: string, fresh: string): Promise<boolean> {
  const r = await db
    .updateTable('us_methods')
    .set({ totp_secret: fresh })
    .where('user_id', '=', userId)
    .where('totp_secret', '=', old)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
