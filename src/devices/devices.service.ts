import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditContext, Auditor } from '../audit/audit.js';
import type { Caller } from '../caller.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { randomToken, type KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import { AppError } from '../errors.js';
import {
  deleteDevice,
  deleteUserDevices,
  insertDevice,
  listDevices,
  useDevice,
  type Device,
} from './devices.repository.js';

export const DEVICE_COOKIE = 'tf_validity';

export interface DeviceDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  audit: Auditor;
}

/** README, SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: remembering is on only with ALWAYS_VALIDATE=false and a non-zero validity. */
export function rememberingEnabled(config: Config): boolean {
  return !config.SECURITY_TWO_FACTOR_ALWAYS_VALIDATE && config.SECURITY_TWO_FACTOR_LOGIN_VALIDITY > 0;
}

function tokenHash(deps: Pick<DeviceDeps, 'hmac'>, token: string): string {
  return deps.hmac.hash('device', token);
}

/** The hash of the caller's tf_validity cookie, if it sent one. */
export function presentedDeviceHash(
  deps: Pick<DeviceDeps, 'hmac'>,
  caller: Pick<Caller, 'cookie'>,
): string | undefined {
  const token = caller.cookie(DEVICE_COOKIE);
  return token && token.length <= 128 ? tokenHash(deps, token) : undefined;
}

/** True when the request carries a live remembered device of this user (the second factor is skipped). */
export async function deviceSkipsSecondFactor(
  deps: DeviceDeps,
  caller: Pick<Caller, 'cookie'>,
  user: { id: number; fs_uniquifier: string },
): Promise<boolean> {
  if (!rememberingEnabled(deps.config)) return false;
  const hash = presentedDeviceHash(deps, caller);
  if (!hash) return false;
  return (await useDevice(deps.db, hash, user.id, user.fs_uniquifier, deps.clock.now())) !== undefined;
}

/** A device to remember: the tf_validity cookie's value (it exists nowhere else) and its life in seconds. */
export interface RememberedDevice {
  token: string;
  maxAge: number;
}

/** Creates the server-side record; the handler sets the cookie (devices/device-cookie.ts). */
export async function rememberDevice(
  deps: DeviceDeps,
  user: { id: number; fs_uniquifier: string },
  ctx: AuditContext,
): Promise<RememberedDevice> {
  const token = randomToken(32);
  const now = deps.clock.now();
  const seconds = deps.config.SECURITY_TWO_FACTOR_LOGIN_VALIDITY;
  const id = randomBytes(12).toString('base64url');
  await insertDevice(deps.db, {
    id,
    user_id: user.id,
    token_hash: tokenHash(deps, token),
    fs_uniquifier: user.fs_uniquifier,
    user_agent: ctx.userAgent,
    created_at: now,
    last_used_at: null,
    expires_at: new Date(now.getTime() + seconds * 1000),
  });
  await deps.audit.record(deps.db, 'device.remembered', user.id, ctx, { device: id });
  return { token, maxAge: seconds };
}

export function deviceView(d: Device, currentHash: string | undefined): Record<string, unknown> {
  const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
  return {
    id: d.id,
    created_at: iso(d.created_at),
    last_used_at: iso(d.last_used_at),
    expires_at: iso(d.expires_at),
    user_agent: d.user_agent,
    current: currentHash !== undefined && d.token_hash === currentHash,
  };
}

type Owner = { id: number; fs_uniquifier: string };

/** The user's live devices, the caller's own marked `current`. */
export async function listDeviceViews(
  deps: DeviceDeps,
  user: Owner,
  currentHash: string | undefined,
): Promise<Array<Record<string, unknown>>> {
  const devices = await listDevices(deps.db, user.id, user.fs_uniquifier, deps.clock.now());
  return devices.map((d) => deviceView(d, currentHash));
}

/** Revokes one live device of the user (404 NOT_FOUND for any other id); says whether it was the caller's. */
export async function revokeDevice(
  deps: DeviceDeps,
  user: Owner,
  id: string,
  currentHash: string | undefined,
  ctx: AuditContext,
): Promise<{ wasCurrent: boolean }> {
  const devices = await listDevices(deps.db, user.id, user.fs_uniquifier, deps.clock.now());
  const target = devices.find((d) => d.id === id);
  if (!target || !(await deleteDevice(deps.db, user.id, target.id))) throw new AppError('NOT_FOUND');
  await deps.audit.record(deps.db, 'device.revoked', user.id, ctx, { device: target.id });
  return { wasCurrent: target.token_hash === currentHash };
}

export async function revokeAllDevices(deps: DeviceDeps, userId: number, ctx: AuditContext): Promise<void> {
  const n = await deleteUserDevices(deps.db, userId);
  await deps.audit.record(deps.db, 'device.revoked', userId, ctx, { all: true, count: n });
}
