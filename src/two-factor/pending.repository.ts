import {
  sql,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type Selectable,
  type Transaction,
  type Updateable,
} from 'kysely';
import { AUDIT_COLUMNS, auditRowsIf, type AuditRow } from '../audit/audit.js';
import { withStatement } from '../db/cte.js';
import type { DB, PendingKind, PendingState, TfPendingTable, UsersTable } from '../db/types.js';
import type { User } from '../users/users.repository.js';
import { precompiled } from '../db/precompiled.js';
import { RoundBatcher, RoundBatchers } from '../db/round-batcher.js';

export type Pending = Selectable<TfPendingTable>;
type Db = Kysely<DB> | Transaction<DB>;

/**
 * Which pending row a request may act on (openapi.yaml): this id, not expired, in
 * one of these states and kinds, its user active and unchanged since
 * (fs_uniquifier); a signed-in caller's own `change` (or `us_verify`,
 * `us_setup`), or an anonymous caller's `signin` (or `us_signin`).
 */
export interface PendingScope {
  id: string;
  now: Date;
  states: readonly PendingState[];
  kinds: readonly PendingKind[];
  signedInUserId: number | null;
}

/** The kinds an anonymous caller acts on; every other kind is a signed-in user's own (unified sign-in adds kinds). */
const ANONYMOUS_KINDS: readonly PendingKind[] = ['signin', 'us_signin'];

function inScope(eb: ExpressionBuilder<DB, 'tf_pending' | 'users'>, scope: PendingScope) {
  const caller =
    scope.signedInUserId === null
      ? eb('tf_pending.kind', 'in', ANONYMOUS_KINDS)
      : eb.and([eb('tf_pending.kind', 'not in', ANONYMOUS_KINDS), eb('tf_pending.user_id', '=', scope.signedInUserId)]);
  return eb.and([
    eb('tf_pending.id', '=', scope.id),
    eb('tf_pending.expires_at', '>', scope.now),
    eb('tf_pending.state', 'in', scope.states),
    eb('tf_pending.kind', 'in', scope.kinds),
    caller,
    eb('users.id', '=', eb.ref('tf_pending.user_id')),
    eb('users.active', '=', true),
    eb('users.fs_uniquifier', '=', eb.ref('tf_pending.fs_uniquifier')),
  ]);
}

/** The user's columns next to the pending row's (id, fs_uniquifier and created_at are the pending row's or equal). */
const USER_COLUMNS = [
  'email',
  'email_normalized',
  'password',
  'active',
  'confirmed_at',
  'tf_primary_method',
  'tf_totp_secret',
  'tf_phone_number',
  'tf_totp_last_step',
  'tf_failures',
  'tf_locked_until',
  'tf_lockouts',
  'tf_required',
  'tf_grace_started_at',
] as const;

type Joined = Pending & Omit<User, 'id' | 'fs_uniquifier' | 'created_at'> & { user_created_at: Date };

function split(row: Joined): { pending: Pending; user: User } {
  const {
    email,
    email_normalized,
    password,
    active,
    confirmed_at,
    user_created_at,
    tf_primary_method,
    tf_totp_secret,
    tf_phone_number,
    tf_totp_last_step,
    tf_failures,
    tf_locked_until,
    tf_lockouts,
    tf_required,
    tf_grace_started_at,
    ...pending
  } = row;
  const user: User = {
    id: pending.user_id,
    fs_uniquifier: pending.fs_uniquifier,
    created_at: user_created_at,
    email,
    email_normalized,
    password,
    active,
    confirmed_at,
    tf_primary_method,
    tf_totp_secret,
    tf_phone_number,
    tf_totp_last_step,
    tf_failures,
    tf_locked_until,
    tf_lockouts,
    tf_required,
    tf_grace_started_at,
  };
  return { pending, user };
}

/** The pending row in scope and its user, in one round trip. */
export async function findPendingInScope(
  db: Db,
  scope: PendingScope,
): Promise<{ pending: Pending; user: User } | undefined> {
  const row = await db
    .selectFrom(['tf_pending', 'users'])
    .selectAll('tf_pending')
    .select(USER_COLUMNS.map((c) => `users.${c}` as const))
    .select('users.created_at as user_created_at')
    .where((eb) => inScope(eb, scope))
    .executeTakeFirst();
  return row && split(row);
}

export type GuessCharge =
  /** Charged to both; `pending.attempts` is this guess's number. */
  | { pending: Pending; user: User }
  /** No pending row in scope, or its attempts are used up: nothing was charged. */
  | null;

/**
 * Charges one guess before it is checked (STYLE habit 4): the pending row in
 * scope gets an attempt unless its cap is reached, and its user a failure
 * unless locked (docs/architecture.md, Budgets). Guesses of one event-loop
 * round are charged together by one call of `charge_guesses`
 * (migrations/20261209T0100_charge_guesses.ts), which runs the one-guess
 * statement (`chargeOne`) for each of them in turn inside one transaction: one
 * round trip and one commit for the round, with the outcome of separate
 * statements. A lone guess sends that statement itself (FUNCTION_FROM). Row
 * locks decide under concurrency (the cap re-checked on the latest row),
 * pending rows before user rows, the order every two-factor statement takes
 * them in.
 */
export function chargeGuess(db: Kysely<DB>, scope: PendingScope, max: number): Promise<GuessCharge> {
  const batcher = batchers.for(
    db,
    max,
    () =>
      new RoundBatcher({
        from: FUNCTION_FROM,
        max: MAX_CHARGE_BATCH,
        one: (s) => chargeOne(db, s, max),
        many: (scopes) => chargeMany(db, scopes, max),
      }),
  );
  return batcher.run(scope);
}

/**
 * The smallest round charged through the function. A lone guess sends its own
 * statement at once: the function's own work (locking in order, the loop) buys
 * nothing for one. From two on, now that it finds its rows by key, it saves a
 * round trip and a commit at no cost Postgres shows (BENCHMARKS.md, group
 * commit and "Two guesses in one call").
 */
const FUNCTION_FROM = 2;

/** Most guesses one call carries; a burst beyond it goes out as several. */
const MAX_CHARGE_BATCH = 128;

const batchers = new RoundBatchers<number, PendingScope, GuessCharge>();

/** One guess, one statement: what charge_guesses runs for each guess of a larger round. */
async function chargeOne(db: Kysely<DB>, scope: PendingScope, max: number): Promise<GuessCharge> {
  const signedIn = scope.signedInUserId !== null;
  const { states, kinds } = scope;
  const shape = { key: `${signedIn}|${states.join()}|${kinds.join()}`, signedIn, states, kinds };
  const [row] = await chargeStatement(db, { ...scope, max }, shape);
  return row ? split(row) : null;
}

/** The values of chargeOne's statement; the states, kinds and whether someone is signed in make its shape. */
type ChargeValues = { id: string; now: Date; signedInUserId: number | null; max: number };
type ChargeShape = { key: string; signedIn: boolean; states: PendingScope['states']; kinds: PendingScope['kinds'] };

const chargeStatement = precompiled((db, v: ChargeValues, shape: ChargeShape) => {
  const scope = { ...shape, id: v.id, now: v.now, signedInUserId: shape.signedIn ? v.signedInUserId : null };
  return db
    .with('p', (qb) =>
      qb
        .updateTable('tf_pending')
        .from('users')
        .set((eb) => ({ attempts: eb('tf_pending.attempts', '+', 1) }))
        .where((eb) => eb.and([inScope(eb, scope), eb('tf_pending.attempts', '<', v.max)]))
        .returningAll('tf_pending'),
    )
    .with('u', (qb) =>
      qb
        .updateTable('users')
        // A locked user is not charged: the lock decides, and its end is read from the locked row.
        .set((eb) => ({
          tf_failures: eb
            .case()
            .when('tf_locked_until', '>', v.now)
            .then(eb.ref('tf_failures'))
            .else(eb('tf_failures', '+', 1))
            .end(),
        }))
        .where('id', 'in', (eb) => eb.selectFrom('p').select('p.user_id'))
        .returningAll(),
    )
    .selectFrom('p')
    .innerJoin('u', 'u.id', 'p.user_id')
    .selectAll('p')
    .select(USER_COLUMNS.map((c) => `u.${c}` as const))
    .select('u.created_at as user_created_at');
});

/** The charged rows as the function returns them: the pending row's columns, then the user's. */
const CHARGED_COLUMNS = sql.raw(
  ['c.ord', '(c.p).*', ...USER_COLUMNS.map((col) => `(c.u).${col}`), '(c.u).created_at as user_created_at'].join(', '),
);

/** A round of guesses in one call of charge_guesses; null for each guess it did not charge. */
async function chargeMany(db: Kysely<DB>, scopes: PendingScope[], max: number): Promise<GuessCharge[]> {
  const reqs = scopes.map((scope, ord) => ({
    ord,
    id: scope.id,
    now: scope.now.toISOString(),
    states: scope.states,
    kinds: scope.kinds,
    signed_in: scope.signedInUserId,
  }));
  const { rows } = await sql<Joined & { ord: number }>`
    select ${CHARGED_COLUMNS}
    from charge_guesses(${JSON.stringify(reqs)}::jsonb, ${max}::integer, ${ANONYMOUS_KINDS}::text[]) c`.execute(db);
  const charged = new Map(rows.map(({ ord, ...row }) => [ord, row as Joined]));
  return scopes.map((_, ord) => {
    const row = charged.get(ord);
    return row ? split(row) : null;
  });
}

export async function insertPending(db: Db, row: Insertable<TfPendingTable>): Promise<void> {
  await db.insertInto('tf_pending').values(row).execute();
}

export async function updatePending(db: Db, id: string, changes: Updateable<TfPendingTable>): Promise<void> {
  await db.updateTable('tf_pending').set(changes).where('id', '=', id).execute();
}

/**
 * Deleting the row is what voids a pending sign-in; returns whether this call
 * did it. `audit` (e.g. tf.too_many_attempts) is written by the same statement.
 * `unlessCodeUsed`: keep a row whose sent code was used (consumeCode), since
 * the request that used it is completing the sign-in.
 */
export async function deletePending(
  db: Db,
  id: string,
  audit?: AuditRow,
  opts: { unlessCodeUsed?: boolean } = {},
): Promise<boolean> {
  const q = audit ? withStatement(db.with('audit', (qb) => qb.insertInto('audit_events').values(audit))) : db;
  const r = await q
    .deleteFrom('tf_pending')
    .where('id', '=', id)
    .where((eb) =>
      opts.unlessCodeUsed ? eb.or([eb('code_purpose', 'is', null), eb('code_hash', 'is not', null)]) : eb.lit(true),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
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

export async function deleteUserPending(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('tf_pending').where('user_id', '=', userId).execute();
}

/** The pending setups holding an enrolment secret, for `keys:rotate` (docs/architecture.md, Secrets at rest). */
export function pendingWithSetupSecret(
  db: Db,
): Promise<{ id: string; user_id: number; setup_secret: string | null }[]> {
  return db
    .selectFrom('tf_pending')
    .select(['id', 'user_id', 'setup_secret'])
    .where('setup_secret', 'is not', null)
    .execute();
}

export async function replaceSetupSecret(db: Db, id: string, fresh: string): Promise<void> {
  await db.updateTable('tf_pending').set({ setup_secret: fresh }).where('id', '=', id).execute();
}

export async function pruneExpiredPending(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('tf_pending').where('expires_at', '<=', now).execute();
}

/** A new code's hash replaces the previous one (only the hash is kept, bound to the row and destination). */
export async function storeCode(
  db: Db,
  id: string,
  code: { hash: string; purpose: string; destination: string; expiresAt: Date },
): Promise<void> {
  await db
    .updateTable('tf_pending')
    .set({
      code_hash: code.hash,
      code_purpose: code.purpose,
      code_destination: code.destination,
      code_expires_at: code.expiresAt,
    })
    .where('id', '=', id)
    .execute();
}

export interface Completion {
  pendingId: string;
  userId: number;
  /** The user must still be the one the pending row was made for, and active. */
  fsUniquifier: string;
  changes: Updateable<UsersTable>;
  /** Compare-and-set of the TOTP step (replay): only if the stored step is before this one. */
  afterStep?: number | undefined;
  /** A recovery code (keyed hash) that must be unused, and is used up (at `now`) by the same statement. */
  recoveryCode?: { hash: string; now: Date } | undefined;
  audit: readonly AuditRow[];
}

/**
 * Completes a pending sign-in or setup in one statement, all or nothing, for
 * /tf-validate, /tf-setup/{token} and /mf-recovery alike. Each part runs only
 * if the one before it returned a row: the pending row is locked (p), then its
 * user, still the one the row was made for and active (l), a recovery code is
 * burned (r), the user's row changed (u, with the TOTP step compared-and-set),
 * the pending row deleted (d) and the audit rows written (a). Only one request
 * completes a pending row: another waits for its lock and then finds no row;
 * of two requests with one recovery code, the second finds it used. Locks are
 * taken pending row, user row, code rows: the order of chargeGuess and of
 * replaceRecoveryCodes, so they cannot deadlock. Undefined when nothing was done.
 */
export async function completePending(db: Db, c: Completion): Promise<User | undefined> {
  const step = c.afterStep;
  const code = c.recoveryCode;
  return db
    .with('p', (qb) => qb.selectFrom('tf_pending').select('id').where('id', '=', c.pendingId).forUpdate())
    .with('l', (qb) =>
      qb
        .selectFrom('users')
        .select('id')
        .where('id', '=', c.userId)
        .where('fs_uniquifier', '=', c.fsUniquifier)
        .where('active', '=', true)
        .where((eb) => eb.exists(eb.selectFrom('p').select('p.id')))
        .forUpdate(),
    )
    .with('r', (qb) =>
      qb
        .updateTable('tf_recovery_codes')
        .set({ used_at: code?.now ?? new Date(0) })
        .where('user_id', '=', c.userId)
        .where('code_hash', '=', code?.hash ?? '')
        .where('used_at', 'is', null)
        .where((eb) => eb.and([eb.lit(code !== undefined), eb.exists(eb.selectFrom('l').select('l.id'))]))
        .returning('id'),
    )
    .with('u', (qb) =>
      qb
        .updateTable('users')
        .set(c.changes)
        .where('id', '=', c.userId)
        .where((eb) => eb.exists(eb.selectFrom('l').select('l.id')))
        .where((eb) => (code === undefined ? eb.lit(true) : eb.exists(eb.selectFrom('r').select('r.id'))))
        .where((eb) =>
          step === undefined
            ? eb.lit(true)
            : eb.or([eb('tf_totp_last_step', 'is', null), eb('tf_totp_last_step', '<', step)]),
        )
        .returningAll(),
    )
    .with('d', (qb) =>
      qb
        .deleteFrom('tf_pending')
        .where('id', '=', c.pendingId)
        .where((eb) => eb.exists(eb.selectFrom('u').select('u.id'))),
    )
    .with('a', (qb) => qb.insertInto('audit_events').columns(AUDIT_COLUMNS).expression(auditRowsIf(c.audit, 'u')))
    .selectFrom('u')
    .selectAll()
    .executeTakeFirst();
}
