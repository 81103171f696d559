import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { AuditContext, Auditor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { randomToken, type KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import { cookiesSecure } from '../http/session.js';
import { insertDevice, useDevice, type Device } from './devices.repository.js';

export const DEVICE_COOKIE = 'tf_validity';

export interface DeviceDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  audit: Auditor;
}

/** SPEC §4.5: remembering is on only with ALWAYS_VALIDATE=false and a non-zero validity. */
export function rememberingEnabled(config: Config): boolean {
  return !config.SECURITY_TWO_FACTOR_ALWAYS_VALIDATE && config.SECURITY_TWO_FACTOR_LOGIN_VALIDITY > 0;
}

function tokenHash(deps: Pick<DeviceDeps, 'hmac'>, token: string): string {
  return deps.hmac.hash('device', token);
}

/** The hash of the caller's tf_validity cookie, if it sent one. */
export function presentedDeviceHash(deps: Pick<DeviceDeps, 'hmac'>, request: FastifyRequest): string | undefined {
  const token = request.cookies[DEVICE_COOKIE];
  return token && token.length <= 128 ? tokenHash(deps, token) : undefined;
}

/** True when the request carries a live remembered device of this user (the second factor is skipped). */
export async function deviceSkipsSecondFactor(
  deps: DeviceDeps,
  request: FastifyRequest,
  user: { id: number; fs_uniquifier: string },
): Promise<boolean> {
  if (!rememberingEnabled(deps.config)) return false;
  const hash = presentedDeviceHash(deps, request);
  if (!hash) return false;
  return (await useDevice(deps.db, hash, user.id, user.fs_uniquifier, deps.clock.now())) !== undefined;
}

/** Creates the server-side record and sets the cookie; the cookie's value exists nowhere else. */
export async function rememberDevice(
  deps: DeviceDeps,
  reply: FastifyReply,
  user: { id: number; fs_uniquifier: string },
  ctx: AuditContext,
): Promise<void> {
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
  reply.setCookie(DEVICE_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: cookiesSecure(deps.config),
    maxAge: seconds,
  });
  await deps.audit.record(deps.db, 'device.remembered', user.id, ctx, { device: id });
}

export function clearDeviceCookie(reply: FastifyReply): void {
  reply.clearCookie(DEVICE_COOKIE, { path: '/' });
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
