import type { Kysely } from 'kysely';
import type { AuditContext, Auditor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { AppError } from '../errors.js';
import { findUserByEmail, findUserById, type User } from '../users/users.repository.js';

/** What the operator actions need; the operator API (operator.app.ts) and the command line build it alike. */
export interface OperatorDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  audit: Auditor;
}

/** Who acts: a token's name (operator API) or `cli`; written into every audit row as `details.operator`. */
export interface Operator {
  name: string;
  audit: AuditContext;
}

const MAX_INT4 = 2 ** 31 - 1;

/**
 * The user an operator names: by id (digits) or by e-mail address. An id out
 * of the `integer` range names nobody (instead of a database error).
 */
export async function userNamed(db: Kysely<DB>, ref: string): Promise<User> {
  const trimmed = ref.trim();
  let user: User | undefined;
  if (/^\d{1,10}$/.test(trimmed)) {
    const id = Number(trimmed);
    user = id >= 1 && id <= MAX_INT4 ? await findUserById(db, id) : undefined;
  } else if (trimmed !== '' && trimmed.length <= 254) {
    user = await findUserByEmail(db, trimmed);
  }
  if (!user) throw new AppError('USER_NOT_FOUND', { params: { user: ref.slice(0, 254) } });
  return user;
}

/** Keyset cursors are ids, sent as decimal strings (bigserial ids exceed a JS number only past 2^53). */
export function readCursor(cursor: string | undefined): string {
  if (cursor === undefined || cursor === '') return '0';
  if (!/^\d{1,15}$/.test(cursor)) throw new AppError('INVALID_CURSOR', { field: 'cursor' });
  return String(Number(cursor));
}

export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 200;

export function readLimit(limit: string | number | undefined): number {
  if (limit === undefined || limit === '') return PAGE_DEFAULT;
  const n = typeof limit === 'number' ? limit : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > PAGE_MAX) throw new AppError('API_ERROR', { field: 'limit' });
  return n;
}

/** A time filter: an ISO 8601 date or date-time. */
export function readTime(value: string | undefined, field: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const d = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new AppError('API_ERROR', { field });
  return d;
}

export function iso(d: Date | string | null): string | null {
  return d === null ? null : new Date(d).toISOString();
}
