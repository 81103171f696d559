import type { FastifyRequest } from 'fastify';
import type { AuditRow } from '../audit/audit.js';
import { randomToken } from '../crypto/keyed-hash.js';
import type { PendingKind, PendingState } from '../db/types.js';
import { AppError } from '../errors.js';
import type { User } from '../users/users.repository.js';
import type { TfDeps } from './deps.js';
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

/**
 * The scope (SPEC §3) of the session's pending sign-in or setup for this
 * caller, or null when the session holds none.
 */
export function sessionScope(
  deps: TfDeps,
  request: FastifyRequest,
  states: readonly PendingState[],
  kinds: readonly PendingKind[],
): PendingScope | null {
  const id = request.session?.pendingId;
  if (!id) return null;
  return { id, now: deps.clock.now(), states, kinds, signedInUserId: request.auth?.user.id ?? null };
}

/**
 * Forgets the pending state in the session and the database. `audit` (e.g.
 * tf.too_many_attempts) is written either way, with the delete when there is one.
 */
export async function wipePending(deps: TfDeps, request: FastifyRequest, audit?: AuditRow): Promise<void> {
  const id = request.session?.pendingId;
  if (!id) {
    if (audit) await deps.audit.write(deps.db, audit);
    return;
  }
  await deletePending(deps.db, id, audit);
  if (audit) deps.audit.logged(audit);
  delete request.session.pendingId;
}

/**
 * SPEC §3: a call in the wrong state is 400 TWO_FACTOR_PERMISSION_DENIED and
 * wipes whatever was pending, so a confused or hostile client starts over.
 * Valid means: not expired, its user active and unchanged (fs_uniquifier), and
 * a signed-in change still the same signed-in user's.
 */
export async function requirePending(
  deps: TfDeps,
  request: FastifyRequest,
  allowed: readonly PendingState[],
  kinds: readonly PendingKind[] = ['signin', 'change'],
): Promise<PendingContext> {
  const scope = sessionScope(deps, request, allowed, kinds);
  const ctx = scope && (await findPendingInScope(deps.db, scope));
  if (!ctx) {
    await wipePending(deps, request);
    throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
  }
  return ctx;
}

/** Creates a pending row and points the session at it. */
export async function startPending(
  deps: TfDeps,
  request: FastifyRequest,
  user: User,
  opts: { kind: PendingKind; state: PendingState; remember: boolean },
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
    // A pending sign-in or setup lives as long as a setup may take (SPEC §3: 30 minutes).
    expires_at: new Date(now.getTime() + deps.config.SECURITY_TWO_FACTOR_SETUP_WITHIN * 1000),
  };
  await insertPending(deps.db, row);
  request.session.pendingId = row.id;
  return row;
}
