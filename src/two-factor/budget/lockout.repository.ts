import { sql, type Compilable, type Kysely, type Transaction } from 'kysely';
import type { AuditRow } from '../../audit/audit.js';
import { precompiled } from '../../db/precompiled.js';
import { RoundBatcher, RoundBatchers } from '../../db/round-batcher.js';
import type { DB } from '../../db/types.js';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Locks once the threshold is reached: 15 minutes, doubling with every
 * repeat (README configuration: SECURITY_TWO_FACTOR_LOCKOUT_*). Only the request that crosses the line sets the lock.
 * The refusal's tf.failed row is written by the same statement, and so is the
 * void of `refusal.voids` unless the lock is set.
 */
export async function lockIfOverThreshold(
  db: Kysely<DB>,
  refusal: Refusal,
  threshold: number,
  baseSeconds: number,
): Promise<Date | null> {
  const { userId, now, audit, voids } = refusal;
  const values = { ...audit, userId, threshold, baseSeconds, now, ...(voids && voidFields(voids)) };
  const [row] = await lockStatement(db, values, voids ? VOIDS : LOCK_ONLY);
  return row?.tf_locked_until ?? null;
}

type LockValues = AuditRow & { userId: number; threshold: number; baseSeconds: number; now: Date };
type LockShape = { key: string; voids: boolean };
const LOCK_ONLY: LockShape = { key: 'lock', voids: false };
const VOIDS: LockShape = { key: 'void', voids: true };

// One statement: the same UPDATE that sees the threshold crossed sets the lock,
// so no concurrent request slips a check in between. 2^n × base, capped at 2^10.
// With a void: unless the lock is set, the pending row is deleted (kept if its sent code
// was just used: that request is completing the sign-in) and tf.too_many_attempts written.
// The users row is locked only when the lock is set, and then the pending row is not touched:
// a charge, which locks the pending row before the user, never waits on it in a circle.
const lockStatement = precompiled(
  (db, v: LockValues & Partial<VoidFields>, shape: LockShape): Compilable<{ tf_locked_until: Date }> => ({
    compile: () =>
      sql<{ tf_locked_until: Date }>`
        with audit as (
          insert into audit_events (user_id, type, at, ip, user_agent, details)
          values (${v.user_id}, ${v.type}, ${v.at}, ${v.ip}, ${v.user_agent}, ${v.details})
          returning id
        ), locked as (
          update users
          set tf_failures = 0, tf_lockouts = tf_lockouts + 1,
            tf_locked_until = ${v.now}::timestamptz
              + make_interval(secs => ${v.baseSeconds}::double precision * power(2, least(tf_lockouts, 10)))
          where id = ${v.userId} and tf_failures >= ${v.threshold}
          returning tf_locked_until
        )${
          shape.voids
            ? sql`, voided as (
          delete from tf_pending
          where id = ${v.void_id} and not exists (select from locked)
            and (code_purpose is null or code_hash is not null)
        ), void_audit as (
          insert into audit_events (user_id, type, at, ip, user_agent, details)
          select ${v.user_id}::integer, ${v.void_type}::text, ${v.void_at}::timestamptz, ${v.void_ip}::text,
            ${v.void_user_agent}::text, ${v.void_details}::jsonb
          from audit -- read from it so that tf.failed is written first, as the two rows' ids must say
          where not exists (select from locked)
        )`
            : sql``
        }
        select tf_locked_until from locked`.compile(db),
  }),
);

/** An audit row's fields as refuse_guesses reads them from JSON. */
function auditFields(audit: AuditRow) {
  return {
    type: audit.type,
    at: new Date(audit.at as Date).toISOString(),
    ip: audit.ip ?? null,
    user_agent: audit.user_agent ?? null,
    details: JSON.parse(audit.details) as unknown,
  };
}

/** The void's pending row and tf.too_many_attempts row, as lockStatement and refuse_guesses take them. */
function voidFields({ pendingId, audit }: Void) {
  const a = auditFields(audit);
  return {
    void_id: pendingId,
    void_type: a.type,
    void_at: a.at,
    void_ip: a.ip,
    void_user_agent: a.user_agent,
    void_details: a.details,
  };
}

type VoidFields = ReturnType<typeof voidFields>;

/**
 * Takes back the failure charged for a guess that turned out not to be one (refused
 * unchecked, or a replay of a code accepted a moment ago). Never below zero: a lock
 * or a success may have reset the run meanwhile.
 */
export async function unchargeFailure(db: Db, userId: number): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ tf_failures: sql<number>`greatest(${eb.ref('tf_failures')} - 1, 0)` }))
    .where('id', '=', userId)
    .execute();
}

/** One refused guess: its tf.failed row, written whatever happens, and the lock if its failure reaches the threshold. */
export interface Refusal {
  userId: number;
  now: Date;
  audit: AuditRow;
  /** The cap's failure (budget/attempts.ts): unless this refusal sets the lock, it voids the pending row. */
  voids?: Void;
}

/** A pending sign-in voided by its N-th failure, and the tf.too_many_attempts row that says so. */
export interface Void {
  pendingId: string;
  audit: AuditRow;
}

/** The smallest round that goes through refuse_guesses; below it, lockIfOverThreshold per guess (as charges do). */
const FUNCTION_FROM = 2;
const MAX_REFUSE_BATCH = 128;

const batchers = new RoundBatchers<string, Refusal, Date | null>();

/**
 * lockIfOverThreshold for the wrong guesses of one event-loop round, in one
 * call of refuse_guesses (migrations/20261209T0200_refuse_guesses.ts, with the
 * void added by 20261213T0100_refusal_voids.ts): the
 * same rows and the same lock as one statement each, one round trip and one
 * commit for the round (docs/architecture.md, Budgets).
 */
export function refuseAndLockIfOver(
  db: Kysely<DB>,
  refusal: Refusal,
  threshold: number,
  baseSeconds: number,
): Promise<Date | null> {
  const batcher = batchers.for(
    db,
    `${threshold}/${baseSeconds}`,
    () =>
      new RoundBatcher({
        from: FUNCTION_FROM,
        max: MAX_REFUSE_BATCH,
        one: (r) => lockIfOverThreshold(db, r, threshold, baseSeconds),
        many: (rs) => refuseMany(db, rs, threshold, baseSeconds),
      }),
  );
  return batcher.run(refusal);
}

async function refuseMany(
  db: Kysely<DB>,
  refusals: Refusal[],
  threshold: number,
  baseSeconds: number,
): Promise<Array<Date | null>> {
  const reqs = refusals.map(({ userId, now, audit, voids }, ord) => ({
    ord,
    user_id: userId,
    now: now.toISOString(),
    ...auditFields(audit),
    ...(voids && voidFields(voids)),
  }));
  const { rows } = await sql<{ ord: number; locked_until: Date | null }>`
    select ord, locked_until
    from refuse_guesses(${JSON.stringify(reqs)}::jsonb, ${threshold}::integer, ${baseSeconds}::double precision)`.execute(
    db,
  );
  const until = new Map(rows.map((r) => [r.ord, r.locked_until]));
  return refusals.map((_, ord) => until.get(ord) ?? null);
}
