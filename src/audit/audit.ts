import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { sql, type Expression, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { AuditEventsTable, DB } from '../db/types.js';
import { clientIp } from '../http/client-ip.js';

/** The security events (docs/architecture.md, Audit). */
export type AuditType =
  | 'signin.success'
  | 'signin.failure'
  | 'signin.throttled'
  | 'signout'
  | 'register'
  | 'verify.success'
  | 'verify.failure'
  | 'password.changed'
  | 'code.sent'
  | 'code.send_failed'
  | 'sms.refused'
  | 'tf.passed'
  | 'tf.failed'
  | 'tf.too_many_attempts'
  | 'tf.lockout'
  | 'tf.setup_changed'
  | 'tf.disabled'
  | 'us.setup_changed'
  | 'us.code_passed'
  | 'recovery_codes.generated'
  | 'recovery_code.used'
  | 'rescue.used'
  | 'device.remembered'
  | 'device.revoked'
  | 'user.created'
  | 'user.deactivated'
  | 'user.reset_2fa'
  // Operator actions (README, "Operator API"); details.operator names who acted.
  | 'user.unlocked'
  | 'user.reactivated'
  | 'operator.user_viewed'
  | 'operator.users_listed'
  | 'operator.audit_read'
  | 'operator.deliveries_retried'
  // WebAuthn keys (README, "WebAuthn"); events out (src/events/notices.ts) maps them to notices.
  | 'webauthn.registered'
  | 'webauthn.deleted'
  | 'webauthn.counter_regression'
  // Tokens and the two-factor policy (README, "Tokens", "Two-factor policy").
  | 'token.refresh_reused'
  | 'user.tf_required'
  | 'user.role_granted'
  | 'user.role_revoked';

export interface AuditContext {
  ip: string | null;
  userAgent: string | null;
}

export function auditContext(request: FastifyRequest): AuditContext {
  const ua = request.headers['user-agent'];
  return { ip: clientIp(request.ip), userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
}

export type AuditRow = Insertable<AuditEventsTable>;

export interface Auditor {
  record(
    db: Kysely<DB> | Transaction<DB>,
    type: AuditType,
    userId: number | null,
    ctx: AuditContext,
    details?: Record<string, unknown>,
  ): Promise<void>;
  /**
   * The row of an event, for a statement that writes it together with the
   * change it records (one round trip instead of two); call `logged` once the
   * statement has run.
   */
  row(type: AuditType, userId: number | null, ctx: AuditContext, details?: Record<string, unknown>): AuditRow;
  /** The log line of a row written by such a statement. */
  logged(row: AuditRow): void;
  /** Writes a row made by `row` on its own, and its log line. */
  write(db: Kysely<DB> | Transaction<DB>, row: AuditRow): Promise<void>;
}

/** One row and one log line per event; details never hold secrets (callers pass ids and methods only). */
export function createAuditor(clock: Clock, log: FastifyBaseLogger): Auditor {
  const auditor: Auditor = {
    record(db, type, userId, ctx, details = {}) {
      return auditor.write(db, auditor.row(type, userId, ctx, details));
    },
    async write(db, row) {
      await insertAuditRow(db, row);
      auditor.logged(row);
    },
    row(type, userId, ctx, details = {}) {
      return {
        user_id: userId,
        type,
        at: clock.now(),
        ip: ctx.ip,
        user_agent: ctx.userAgent,
        details: JSON.stringify(details),
      };
    },
    logged(row) {
      log.info(
        {
          audit: {
            type: row.type,
            userId: row.user_id,
            ip: row.ip,
            ...(JSON.parse(row.details) as Record<string, unknown>),
          },
        },
        `audit ${row.type}`,
      );
    },
  };
  return auditor;
}

/**
 * The row alone, without the log line: the auditor's write, and the operator
 * commands (cli/commands.ts), whose output is the command's answer.
 */
export async function insertAuditRow(db: Kysely<DB> | Transaction<DB>, row: AuditRow): Promise<void> {
  await db.insertInto('audit_events').values(row).execute();
}

export const AUDIT_COLUMNS = ['user_id', 'type', 'at', 'ip', 'user_agent', 'details'] as const;

/**
 * The rows as `SELECT … FROM (VALUES …)` that yields them only if the CTE
 * `gate` of the same statement returned a row: for `INSERT INTO audit_events
 * (AUDIT_COLUMNS) …` recording a change that may not happen (the casts give
 * the parameters the columns' types, which a SELECT list does not infer).
 */
export function auditRowsIf(rows: readonly AuditRow[], gate: string): Expression<unknown> {
  if (rows.length === 0) throw new Error('auditRowsIf needs at least one row');
  const values = rows.map(
    (r) =>
      sql`(${r.user_id}::integer, ${r.type}::varchar, ${r.at}::timestamptz, ${r.ip}::varchar, ${r.user_agent}::varchar, ${r.details}::jsonb)`,
  );
  return sql`select * from (values ${sql.join(values)}) as v where exists (select from ${sql.table(gate)})`;
}
