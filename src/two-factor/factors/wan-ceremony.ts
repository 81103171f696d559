import { randomBytes } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AuditContext } from '../../audit/audit.js';
import { randomToken } from '../../crypto/keyed-hash.js';
import { AppError, ValidationError } from '../../errors.js';
import type { TfDeps } from '../deps.js';
import { humanDuration } from '../human-duration.js';
import { challengeFor, insertChallenge, type StoredChallenge } from './webauthn.repository.js';

/**
 * What the security-key ceremonies share (README "Security keys"): the relying party,
 * the challenges named by a wan_state, and the reading of what the browser sent.
 */
export type CeremonyDeps = Pick<TfDeps, 'config' | 'db' | 'clock' | 'hmac' | 'audit' | 'metrics'>;

const STATE_HASH = 'wan-state';

/** The relying party the keys are bound to, and the pages that may call navigator.credentials. */
export function relyingParty(deps: Pick<TfDeps, 'config'>): { rpID: string; origins: string[] } {
  // Both are required when SECURITY_WEBAUTHN is on (config/load.ts).
  return { rpID: deps.config.SECURITY_WAN_RP_ID ?? '', origins: [...deps.config.SECURITY_WAN_ORIGINS] };
}

/** A fresh random challenge (32 bytes, base64url) and the wan_state that names it. */
export async function newChallenge(
  deps: CeremonyDeps,
  scope: {
    purpose: StoredChallenge['purpose'];
    userId: number;
    pendingId?: string;
    name?: string;
    usage?: string;
    within: number;
  },
): Promise<{ challenge: string; state: string }> {
  const challenge = randomBytes(32).toString('base64url');
  const state = randomToken(24);
  await insertChallenge(deps.db, {
    token_hash: deps.hmac.hash(STATE_HASH, state),
    purpose: scope.purpose,
    user_id: scope.userId,
    pending_id: scope.pendingId ?? null,
    challenge,
    name: scope.name ?? null,
    usage: scope.usage ?? null,
    user_verification: deps.config.SECURITY_WAN_USER_VERIFICATION === 'required',
    expires_at: new Date(deps.clock.now().getTime() + scope.within * 1000),
  });
  return { challenge, state };
}

export function stateHash(deps: Pick<TfDeps, 'hmac'>, state: string): string {
  return deps.hmac.hash(STATE_HASH, state);
}

/**
 * The live challenge a wan_state names for this purpose and user, else 400: API_ERROR
 * for one that names nothing (or was used), WEBAUTHN_EXPIRED for one past its time.
 */
export async function liveChallenge(
  deps: CeremonyDeps,
  state: string,
  scope: { purpose: StoredChallenge['purpose']; userId: number; pendingId?: string; within: number },
): Promise<StoredChallenge> {
  const row = state.length <= 256 ? await challengeFor(deps.db, stateHash(deps, state), scope) : undefined;
  if (!row || row.used_at || (scope.pendingId !== undefined && row.pending_id !== scope.pendingId))
    throw new AppError('API_ERROR');
  if (row.expires_at <= deps.clock.now())
    throw new AppError('WEBAUTHN_EXPIRED', { params: { within: humanDuration(scope.within) } });
  return row;
}

/**
 * The `credential` of a body: the browser's PublicKeyCredential as JSON, sent as a string
 * (as Flask-Security's clients do) or as an object. Its shape is checked by the library.
 */
function readCredential(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null || raw === '')
    throw new ValidationError([{ field: 'credential', key: 'REQUIRED' }]);
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = raw.length <= 65536 ? JSON.parse(raw) : null;
    } catch {
      value = null;
    }
  }
  const v = value as Record<string, unknown> | null;
  const response = v?.response as Record<string, unknown> | undefined;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.id !== 'string' ||
    typeof v.rawId !== 'string' ||
    typeof response !== 'object' ||
    response === null ||
    typeof response.clientDataJSON !== 'string'
  )
    throw new ValidationError([{ field: 'credential', key: 'API_ERROR' }]);
  return v;
}

export function readAttestation(raw: unknown): RegistrationResponseJSON {
  const v = readCredential(raw);
  if (typeof (v.response as Record<string, unknown>).attestationObject !== 'string')
    throw new ValidationError([{ field: 'credential', key: 'API_ERROR' }]);
  return v as unknown as RegistrationResponseJSON;
}

export function readAssertion(raw: unknown): AuthenticationResponseJSON {
  const v = readCredential(raw);
  const r = v.response as Record<string, unknown>;
  if (typeof r.authenticatorData !== 'string' || typeof r.signature !== 'string')
    throw new ValidationError([{ field: 'credential', key: 'API_ERROR' }]);
  return v as unknown as AuthenticationResponseJSON;
}

/** WEBAUTHN_NO_VERIFY on `credential`, with the library's reason (it names no secret). */
export function noVerify(cause: unknown): AppError {
  const text = cause instanceof Error ? cause.message : String(cause);
  return new AppError('WEBAUTHN_NO_VERIFY', { field: 'credential', params: { cause: text.slice(0, 200) } });
}

/**
 * A key's name (Flask-Security's rule, README "Security keys"): trimmed, NFKC, letters,
 * digits, spaces, dashes and connectors only (so no markup reaches a page that lists
 * keys), at most 64 characters.
 */
export function keyName(raw: string): string {
  const name = raw.trim().normalize('NFKC');
  if (!/^[\p{L}\p{N}\p{Pc}\p{Pd}\p{Zs}]+$/u.test(name))
    throw new ValidationError([{ field: 'name', key: 'INVALID_INPUT' }]);
  if (name.length > 64)
    throw new ValidationError([{ field: 'name', key: 'INVALID_INPUT_LENGTH', params: { length: 64 } }]);
  return name;
}

/** The audit context a factor gets from its attempt (a pending sign-in always has one). */
export function auditOf(audit: AuditContext | undefined): AuditContext {
  return audit ?? { ip: null, userAgent: null };
}
