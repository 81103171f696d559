import type { AuditRow } from '../audit/audit.js';
import type { Caller } from '../caller.js';
import { randomToken } from '../crypto/keyed-hash.js';
import type { PendingKind, PendingState } from '../db/types.js';
import { AppError } from '../errors.js';
import type { User } from '../users/users.repository.js';
import type { TfDeps } from './deps.js';
import type { StepRule } from './flow.js';
import {
  deletePending,
  findPendingInScope,
  insertPending,
  type Pending,
  type PendingScope,
} from './pending.repository.js';

export interface PendingContext {
  pending: Pending;
  user: User;
}

/** The scope (flow.ts) of the caller's pending sign-in or setup for a step, or null when it holds none. */
export function callerScope(deps: TfDeps, caller: Caller, step: StepRule): PendingScope | null {
  const id = caller.pendingId();
  if (!id) return null;
  return { id, now: deps.clock.now(), ...step, signedInUserId: caller.auth?.userId ?? null };
}

/** Forgets the pending state in the session and the database. */
export async function wipePending(deps: TfDeps, caller: Caller): Promise<void> {
  const id = caller.pendingId();
  if (!id) return;
  await deletePending(deps.db, id);
  caller.setPendingId(undefined);
}

/**
 * Voids a pending row whose N-th failure was a replay (budget/attempts.ts; any
 * other N-th failure voids in its refusal's statement): one statement deletes
 * it and writes `audit`, unless its sent code was just used by a concurrent
 * request that is completing the sign-in. The session keeps its reference,
 * which now names no row: every step treats that as no pending state
 * (requirePending), as it does an expired row's, and clears it then
 * (docs/architecture.md, Budgets: the void is part of the refusal).
 */
export async function voidPending(deps: TfDeps, pendingId: string, audit: AuditRow): Promise<void> {
  await deletePending(deps.db, pendingId, audit, { unlessCodeUsed: true });
  deps.audit.logged(audit);
}

/**
 * The caller's pending row for a step (flow.ts), else 400
 * TWO_FACTOR_PERMISSION_DENIED with the state wiped. Valid means: not expired,
 * its user active and unchanged (fs_uniquifier), and a signed-in change still
 * the same signed-in user's.
 */
export async function requirePending(deps: TfDeps, caller: Caller, step: StepRule): Promise<PendingContext> {
  const scope = callerScope(deps, caller, step);
  const ctx = scope && (await findPendingInScope(deps.db, scope));
  if (!ctx) {
    await wipePending(deps, caller);
    throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
  }
  return ctx;
}

/** The factors of a sign-in that passed `second` on this pending row (authn_methods, the audit row). */
export function signInMethods(pending: Pick<Pending, 'first_factor'>, second: string): string[] {
  return [pending.first_factor ?? 'password', second];
}

/** Creates a pending row and points the session at it. */
export async function startPending(
  deps: TfDeps,
  caller: Caller,
  user: User,
  opts: {
    kind: PendingKind;
    state: PendingState;
    remember: boolean;
    expiresInSeconds?: number;
    /** The first factor when not the password (unified sign-in, auth/after-password.ts). */
    firstFactor?: string | undefined;
  },
): Promise<Pending> {
  const now = deps.clock.now();
  const row = {
    id: randomToken(24),
    user_id: user.id,
    kind: opts.kind,
    state: opts.state,
    fs_uniquifier: user.fs_uniquifier,
    remember: opts.remember,
    attempts: 0,
    setup_method: null,
    setup_secret: null,
    setup_phone: null,
    code_hash: null,
    code_purpose: null,
    code_destination: null,
    code_expires_at: null,
    created_at: now,
    first_factor: opts.firstFactor ?? null,
    // A pending sign-in or setup lives as long as a setup may take (SECURITY_TWO_FACTOR_SETUP_WITHIN);
    // unified sign-in's rows say how long theirs live (SECURITY_US_TOKEN_VALIDITY, SECURITY_US_SETUP_WITHIN).
    expires_at: new Date(
      now.getTime() + (opts.expiresInSeconds ?? deps.config.SECURITY_TWO_FACTOR_SETUP_WITHIN) * 1000,
    ),
  };
  await insertPending(deps.db, row);
  caller.setPendingId(row.id);
  return row;
}
