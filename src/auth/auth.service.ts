import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditContext, Auditor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { AppError, ValidationError } from '../errors.js';
import { deleteUserSessions } from '../db/session-store.js';
import type { Metrics } from '../metrics/metrics.js';
import { burnPasswordCheck, hashPassword, PASSWORD_MAX_LENGTH, verifyPassword } from '../users/passwords.js';
import { findUserByEmail, findUserById, insertUser, updatePassword, type User } from '../users/users.repository.js';
import type { PasswordThrottle } from './password-throttle.js';

export interface AuthDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  audit: Auditor;
  throttle: PasswordThrottle;
  metrics: Metrics;
}

export function newFsUniquifier(): string {
  return randomBytes(32).toString('hex');
}

const EMAIL_RE = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

export function checkEmail(email: string): void {
  if (email.length > 254 || !EMAIL_RE.test(email.trim())) {
    throw new ValidationError([{ field: 'email', key: 'INVALID_EMAIL_ADDRESS' }]);
  }
}

export function checkNewPassword(config: Config, password: string, field = 'password'): void {
  if (password.length < config.SECURITY_PASSWORD_LENGTH_MIN) {
    throw new ValidationError([
      { field, key: 'PASSWORD_INVALID_LENGTH', params: { length: config.SECURITY_PASSWORD_LENGTH_MIN } },
    ]);
  }
  if (password.length > PASSWORD_MAX_LENGTH) throw new ValidationError([{ field, key: 'API_ERROR' }]);
}

/**
 * First factor. Unknown e-mail and wrong password give the same answer after
 * the same work; a disabled account is only revealed to someone who knows its password.
 */
export async function checkCredentials(
  deps: AuthDeps,
  email: string,
  password: string,
  ctx: AuditContext,
): Promise<User> {
  // Charged before any hashing, for known and unknown e-mails alike: a throttled guess costs us no argon2 run.
  const attempt = await deps.throttle.begin(email, ctx);
  const user = password.length <= PASSWORD_MAX_LENGTH ? await findUserByEmail(deps.db, email) : undefined;
  const ok = user
    ? await verifyPassword(user.password, password)
    : await burnPasswordCheck(password.slice(0, PASSWORD_MAX_LENGTH));
  if (!user || !ok) {
    await deps.audit.record(deps.db, 'signin.failure', user?.id ?? null, ctx, { reason: 'credentials' });
    deps.metrics.signIn('failure');
    throw await deps.throttle.failed(attempt, user?.id ?? null, ctx);
  }
  await deps.throttle.succeeded(attempt);
  if (!user.active) {
    await deps.audit.record(deps.db, 'signin.failure', user.id, ctx, { reason: 'disabled' });
    deps.metrics.signIn('failure');
    throw new AppError('DISABLED_ACCOUNT');
  }
  return user;
}

export async function register(deps: AuthDeps, email: string, password: string, ctx: AuditContext): Promise<User> {
  checkEmail(email);
  checkNewPassword(deps.config, password);
  const user = await insertUser(deps.db, {
    email,
    passwordHash: await hashPassword(password),
    fsUniquifier: newFsUniquifier(),
  });
  if (!user) {
    throw new ValidationError([{ field: 'email', key: 'EMAIL_ALREADY_ASSOCIATED', params: { email: email.trim() } }]);
  }
  await deps.audit.record(deps.db, 'register', user.id, ctx);
  return user;
}

export async function reauthenticate(
  deps: AuthDeps,
  userId: number,
  password: string,
  ctx: AuditContext,
): Promise<void> {
  const user = await findUserById(deps.db, userId);
  // Same budget as /login for this account and address: a stolen session must not become a password oracle.
  const attempt = user ? await deps.throttle.begin(user.email, ctx, 'verify.failure') : undefined;
  if (!user || !attempt || password.length > PASSWORD_MAX_LENGTH || !(await verifyPassword(user.password, password))) {
    await deps.audit.record(deps.db, 'verify.failure', userId, ctx);
    const throttled = attempt ? await deps.throttle.failed(attempt, userId, ctx) : undefined;
    throw throttled?.key === 'RATE_LIMITED'
      ? throttled
      : new ValidationError([{ field: 'password', key: 'INVALID_PASSWORD' }]);
  }
  await deps.throttle.succeeded(attempt);
  await deps.audit.record(deps.db, 'verify.success', userId, ctx);
}

/**
 * Changes the password and rotates fs_uniquifier in one transaction: every
 * other session, token and remembered device of the user dies with the old value.
 */
export async function changePassword(
  deps: AuthDeps,
  userId: number,
  password: string,
  newPassword: string,
  ctx: AuditContext,
): Promise<string> {
  await reauthenticate(deps, userId, password, ctx);
  checkNewPassword(deps.config, newPassword, 'new_password');
  const fsu = newFsUniquifier();
  const hash = await hashPassword(newPassword);
  await deps.db.transaction().execute(async (trx) => {
    await updatePassword(trx, userId, hash, fsu);
    await deleteUserSessions(trx, userId);
    await deps.audit.record(trx, 'password.changed', userId, ctx);
  });
  return fsu;
}
