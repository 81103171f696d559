import { checkEmail, checkNewPassword, newFsUniquifier } from '../auth/auth.service.js';
import { deleteUserSessions } from '../db/session-store.js';
import { deleteUserDevices, listDevices } from '../devices/devices.repository.js';
import { AppError } from '../errors.js';
import { countUnusedRecoveryCodes, deleteRecoveryCodes } from '../recovery-codes/recovery-codes.repository.js';
import { deleteUserKeys, userKeys } from '../two-factor/factors/webauthn.repository.js';
import { deleteUserPending } from '../two-factor/pending.repository.js';
import { hashPassword } from '../users/passwords.js';
import {
  grantRole,
  insertUser,
  resetSecondFactor,
  setActive,
  userRoles,
  type User,
} from '../users/users.repository.js';
import { iso, readCursor, readLimit, userNamed, type Operator, type OperatorDeps } from './operator.js';
import { lastSignIn, unlockSecondFactor, usersPage, type UserSummaryRow } from './operator.repository.js';

/**
 * The operator actions on users (README, "Operator API"), one implementation
 * for the operator API and the command line. Each change and its audit row
 * (details.operator: who acted) are one transaction.
 */
export interface UserSummary {
  id: number;
  email: string;
  active: boolean;
  created_at: string | null;
  confirmed_at: string | null;
  method: string | null;
  locked_until: string | null;
}

export function summary(u: UserSummaryRow | User): UserSummary {
  return {
    id: u.id,
    email: u.email,
    active: u.active,
    created_at: iso(u.created_at),
    confirmed_at: iso(u.confirmed_at),
    method: u.tf_primary_method,
    locked_until: iso(u.tf_locked_until),
  };
}

/** `+4915112345678` → `+***********78`: enough for a help desk to match what the caller reads out, no more. */
export function maskPhone(phone: string | null): string | null {
  if (!phone) return null;
  const digits = phone.replace(/\D/g, '');
  return `+${'*'.repeat(Math.max(0, digits.length - 2))}${digits.slice(-2)}`;
}

export async function showUser(deps: OperatorDeps, op: Operator, ref: string) {
  const user = await userNamed(deps.db, ref);
  const now = deps.clock.now();
  const [roles, codesLeft, devices, signIn, keys] = await Promise.all([
    userRoles(deps.db, user.id),
    countUnusedRecoveryCodes(deps.db, user.id),
    listDevices(deps.db, user.id, user.fs_uniquifier, now),
    lastSignIn(deps.db, user.id),
    userKeys(deps.db, user.id),
  ]);
  await deps.audit.record(deps.db, 'operator.user_viewed', user.id, op.audit, { operator: op.name });
  return {
    user: {
      ...summary(user),
      roles,
      second_factor: {
        method: user.tf_primary_method,
        phone: maskPhone(user.tf_phone_number),
        recovery_codes_left: codesLeft,
        // Security keys (README, "Security keys"): what a help desk matches, never the key material.
        keys: keys.map((k) => ({
          name: k.name,
          usage: k.usage,
          transports: JSON.parse(k.transports) as string[],
          backed_up: k.backup_state,
          created_at: iso(k.created_at),
          last_used_at: iso(k.last_used_at),
        })),
        remembered_devices: devices.map((d) => ({
          id: d.id,
          user_agent: d.user_agent,
          created_at: iso(d.created_at),
          last_used_at: iso(d.last_used_at),
          expires_at: iso(d.expires_at),
        })),
      },
      lockout: {
        locked: user.tf_locked_until !== null && new Date(user.tf_locked_until) > now,
        locked_until: iso(user.tf_locked_until),
        failures: user.tf_failures,
        lockouts: user.tf_lockouts,
      },
      last_sign_in: signIn ? { at: iso(signIn.at), ip: signIn.ip } : null,
    },
  };
}

/**
 * One page of users, by id. The first page of a listing (no cursor) is
 * audited; the pages after it are the same listing.
 */
export async function listUsers(deps: OperatorDeps, op: Operator, q: { cursor?: string; limit?: string | number }) {
  const after = Number(readCursor(q.cursor));
  const limit = readLimit(q.limit);
  const rows = await usersPage(deps.db, after, limit);
  if (q.cursor === undefined || q.cursor === '')
    await deps.audit.record(deps.db, 'operator.users_listed', null, op.audit, { operator: op.name });
  const last = rows.at(-1);
  return { users: rows.map(summary), next_cursor: rows.length === limit && last ? String(last.id) : null };
}

export async function createUser(
  deps: OperatorDeps,
  op: Operator,
  input: { email: string; password: string; roles?: readonly string[] },
) {
  checkEmail(input.email);
  checkNewPassword(deps.config, input.password);
  const passwordHash = await hashPassword(input.password);
  const user = await deps.db.transaction().execute(async (trx) => {
    const created = await insertUser(trx, {
      email: input.email,
      passwordHash,
      fsUniquifier: newFsUniquifier(),
      // An operator vouches for the address (Flask-Security's `users create` confirms too).
      confirmedAt: deps.clock.now(),
    });
    if (!created)
      throw new AppError('EMAIL_ALREADY_ASSOCIATED', { field: 'email', params: { email: input.email.trim() } });
    for (const role of input.roles ?? []) await grantRole(trx, created.id, role);
    await deps.audit.record(trx, 'user.created', created.id, op.audit, { operator: op.name, roles: input.roles ?? [] });
    return created;
  });
  return { user: summary(user) };
}

/**
 * Help-desk reset: the second factor, recovery codes, remembered devices and
 * pending sign-ins go, and a new fs_uniquifier ends every session, token and
 * device at once; the session rows are deleted too. The reason is mandatory
 * and kept in the audit row (the notice to the user reads it from there).
 */
export async function resetTwoFactor(deps: OperatorDeps, op: Operator, ref: string, reason: string) {
  const why = reason.trim();
  if (why === '') throw new AppError('REQUIRED', { field: 'reason' });
  if (why.length > 500) throw new AppError('API_ERROR', { field: 'reason' });
  const user = await userNamed(deps.db, ref);
  await deps.db.transaction().execute(async (trx) => {
    await resetSecondFactor(trx, user.id, newFsUniquifier());
    await deleteUserDevices(trx, user.id);
    await deleteUserPending(trx, user.id);
    await deleteRecoveryCodes(trx, user.id);
    await deleteUserKeys(trx, user.id);
    await deleteUserSessions(trx, user.id);
    await deps.audit.record(trx, 'user.reset_2fa', user.id, op.audit, {
      operator: op.name,
      reason: why,
      method: user.tf_primary_method,
    });
  });
  return { user: summary({ ...user, tf_primary_method: null, tf_locked_until: null }) };
}

/** Ends a second-factor lockout now (README, "Abuse resistance" for how one starts). */
export async function unlockUser(deps: OperatorDeps, op: Operator, ref: string) {
  const user = await userNamed(deps.db, ref);
  const wasLocked = user.tf_locked_until !== null && new Date(user.tf_locked_until) > deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    await unlockSecondFactor(trx, user.id);
    await deps.audit.record(trx, 'user.unlocked', user.id, op.audit, { operator: op.name, was_locked: wasLocked });
  });
  return { user: summary({ ...user, tf_locked_until: null }), was_locked: wasLocked };
}

/** Disables the account; a new fs_uniquifier and deleting the session rows end every session and token at once. */
export async function deactivateUser(deps: OperatorDeps, op: Operator, ref: string) {
  const user = await userNamed(deps.db, ref);
  await deps.db.transaction().execute(async (trx) => {
    await setActive(trx, user.id, false, newFsUniquifier());
    await deleteUserSessions(trx, user.id);
    await deps.audit.record(trx, 'user.deactivated', user.id, op.audit, { operator: op.name });
  });
  return { user: summary({ ...user, active: false }) };
}

/** Enables the account again; the user signs in anew (deactivation ended every session). */
export async function reactivateUser(deps: OperatorDeps, op: Operator, ref: string) {
  const user = await userNamed(deps.db, ref);
  await deps.db.transaction().execute(async (trx) => {
    await setActive(trx, user.id, true, user.fs_uniquifier);
    await deps.audit.record(trx, 'user.reactivated', user.id, op.audit, { operator: op.name });
  });
  return { user: summary({ ...user, active: true }) };
}
