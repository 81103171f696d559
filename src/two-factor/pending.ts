import type { FastifyRequest } from 'fastify';
import { randomToken } from '../crypto/keyed-hash.js';
import type { PendingKind, PendingState } from '../db/types.js';
import { AppError } from '../errors.js';
import { findUserById, type User } from '../users/users.repository.js';
import type { TfDeps } from './context.js';
import { deletePending, findPending, insertPending, type Pending } from './pending.repository.js';

export interface PendingContext {
  pending: Pending;
  user: User;
}

/**
 * The session's pending sign-in or setup, if it is still valid: not expired,
 * its user active and unchanged (fs_uniquifier), and for a signed-in change
 * still the same signed-in user.
 */
export async function loadPending(deps: TfDeps, request: FastifyRequest): Promise<PendingContext | null> {
  const id = request.session?.pendingId;
  if (!id) return null;
  const pending = await findPending(deps.db, id, deps.clock.now());
  if (!pending) return null;
  const user = await findUserById(deps.db, pending.user_id);
  if (!user || !user.active || user.fs_uniquifier !== pending.fs_uniquifier) return null;
  if (pending.kind === 'change' && request.auth?.user.id !== user.id) return null;
  if (pending.kind === 'signin' && request.auth) return null;
  return { pending, user };
}

/** Forgets the pending state in the session and the database. */
export async function wipePending(deps: TfDeps, request: FastifyRequest): Promise<void> {
  const id = request.session?.pendingId;
  if (!id) return;
  await deletePending(deps.db, id);
  delete request.session.pendingId;
}

/**
 * SPEC §3: a call in the wrong state is 400 TWO_FACTOR_PERMISSION_DENIED and
 * wipes whatever was pending, so a confused or hostile client starts over.
 */
export async function requirePending(deps: TfDeps, request: FastifyRequest, allowed: readonly PendingState[], kinds: readonly PendingKind[] = ['signin', 'change']): Promise<PendingContext> {
  const ctx = await loadPending(deps, request);
  if (!ctx || !allowed.includes(ctx.pending.state) || !kinds.includes(ctx.pending.kind)) {
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
