import type { Caller } from '../caller.js';
import { AppError, ValidationError } from '../errors.js';
import { chargeGuess, refuseGuess } from '../two-factor/budget/attempts.js';
import { normalizeCodeInput } from '../two-factor/factors/otp-code.js';
import { humanDuration } from '../two-factor/human-duration.js';
import { startPending, wipePending } from '../two-factor/pending.js';
import { findPendingInScope, updatePending } from '../two-factor/pending.repository.js';
import { issueStateToken, readStateToken } from '../two-factor/state-token.js';
import { findUserById, type User } from '../users/users.repository.js';
import type { UsDeps } from './deps.js';
import { activeMethods, enabledMethods, factorFor, isSetupMethod, setupMethods, usFactorDeps } from './methods.js';
import { confirmUsSetup, deleteUsMethods, findUsMethods, type SetupMethod, type UsMethodRow } from './us.repository.js';

type SignedIn = Caller & { auth: NonNullable<Caller['auth']> };

async function signedInUser(deps: UsDeps, caller: SignedIn): Promise<User> {
  const user = await findUserById(deps.db, caller.auth.userId);
  if (!user) throw new AppError('UNAUTHENTICATED');
  return user;
}

/** The stored SMS number, when SMS is a unified sign-in method (Flask-Security's `phone`). */
function phoneOf(deps: UsDeps, rows: readonly UsMethodRow[]): string | null {
  if (!isSetupMethod(deps.config, 'sms')) return null;
  return rows.find((r) => r.phone !== null)?.phone ?? null;
}

/** GET /us-setup (openapi.yaml): what may be set up, what is, and the stored phone. */
export async function usSetupInfo(deps: UsDeps, caller: SignedIn) {
  const user = await signedInUser(deps, caller);
  const rows = await findUsMethods(deps.db, user.id);
  return {
    identity_attributes: ['email'],
    available_methods: [...enabledMethods(deps.config)],
    active_methods: activeMethods(deps.config, rows),
    setup_methods: setupMethods(deps.config),
    phone: phoneOf(deps, rows),
  };
}

export interface UsSetupRequest {
  chosenMethod: string | undefined;
  deleteMethods: string[] | undefined;
  phone: string | undefined;
}

/**
 * POST /us-setup: remove methods (`delete_method`), and/or start a new one
 * (`chosen_method`): its factor makes the enrolment (the authenticator's secret,
 * the SMS number, checked against SECURITY_SMS_ALLOWED_COUNTRIES) and sends its
 * code; nothing is stored on the user until POST /us-setup/{state} proves it.
 */
export async function beginUsSetup(
  deps: UsDeps,
  caller: SignedIn,
  req: UsSetupRequest,
): Promise<Record<string, unknown>> {
  if (!req.chosenMethod && !req.deleteMethods?.length) throw new AppError('API_ERROR');
  const user = await signedInUser(deps, caller);
  if (req.deleteMethods?.length) await removeMethods(deps, caller, user, req.deleteMethods);
  if (!req.chosenMethod) return {};
  if (!isSetupMethod(deps.config, req.chosenMethod))
    throw new ValidationError([{ field: 'chosen_method', key: 'US_METHOD_NOT_AVAILABLE' }]);
  const factor = factorFor(deps.factors, req.chosenMethod);
  const fdeps = usFactorDeps(deps);
  const { enrolment, answer } = await factor.enrol(fdeps, user, { phone: req.phone }, caller.audit);
  // Limits first: over a limit nothing changes.
  const challenge = await factor.challenge(fdeps, user, enrolment, caller.audit);
  await wipePending(deps, caller);
  const within = deps.config.SECURITY_US_SETUP_WITHIN;
  const pending = await startPending(deps, caller, user, {
    kind: 'us_setup',
    state: 'validating_profile',
    remember: false,
    expiresInSeconds: within,
  });
  await updatePending(deps.db, pending.id, {
    setup_method: factor.id,
    setup_secret: enrolment.secret,
    setup_phone: enrolment.phone,
  });
  await challenge?.issue(pending.id, 'setup', caller.audit);
  const state = issueStateToken(deps.hmac, pending.id, user.id, pending.expires_at);
  return { chosen_method: factor.id, phone: enrolment.phone, state, ...authrFields(answer) };
}

/** The factor's tf_authr_* answer fields under unified sign-in's names (authr_*), the QR code included. */
function authrFields(answer: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(answer)
      .filter(([k]) => k.startsWith('tf_authr_'))
      .map(([k, v]) => [k.slice('tf_'.length), v]),
  );
}

async function removeMethods(deps: UsDeps, caller: SignedIn, user: User, names: string[]): Promise<void> {
  const rows = await findUsMethods(deps.db, user.id);
  const have = new Set<string>(rows.map((r) => r.method));
  // The password is not removed here (every account keeps one; README "Unified sign-in").
  if (!names.every((m) => isSetupMethod(deps.config, m) && have.has(m)))
    throw new ValidationError([{ field: 'delete_method', key: 'US_METHOD_NOT_AVAILABLE' }]);
  const methods = names as SetupMethod[];
  const row = deps.audit.row('us.setup_changed', user.id, caller.audit, { deleted: methods });
  await deleteUsMethods(deps.db, user.id, methods, row);
  deps.audit.logged(row);
}

/** POST /us-setup/{state}: the code of the method being set up; on success the method is stored. */
export async function confirmUsSetupStep(
  deps: UsDeps,
  caller: SignedIn,
  token: string,
  passcode: unknown,
): Promise<{ chosen_method: string; phone: string | null }> {
  const now = deps.clock.now();
  const named = readStateToken(deps.hmac, token, now);
  if (!named.ok) {
    if (!named.expired) throw new AppError('API_ERROR');
    throw new AppError('US_SETUP_EXPIRED', { params: { within: humanDuration(deps.config.SECURITY_US_SETUP_WITHIN) } });
  }
  const scope = {
    id: named.pendingId,
    now,
    states: ['validating_profile'] as const,
    kinds: ['us_setup'] as const,
    signedInUserId: caller.auth.userId,
  };
  if (!(await findPendingInScope(deps.db, scope))) throw new AppError('API_ERROR');
  const ctx = await chargeGuess(deps, caller, scope);
  const { pending, user } = ctx;
  const method = pending.setup_method;
  if (!method || !isSetupMethod(deps.config, method)) throw new AppError('API_ERROR');
  const enrolment = { secret: pending.setup_secret, phone: pending.setup_phone };
  const proof = { kind: 'code' as const, code: normalizeCodeInput(passcode) };
  const factor = factorFor(deps.factors, method);
  const verdict = await factor.verify(usFactorDeps(deps), proof, { pending, user, enrolment, now });
  const changed = deps.audit.row('us.setup_changed', user.id, caller.audit, { method });
  const confirmed =
    verdict.ok &&
    (await confirmUsSetup(deps.db, {
      pendingId: pending.id,
      userId: user.id,
      fsUniquifier: pending.fs_uniquifier,
      method,
      secret: enrolment.secret,
      phone: enrolment.phone,
      step: verdict.totpStep ?? null,
      now,
      audit: [changed],
    }));
  if (!confirmed) {
    const wrong = new AppError('INVALID_PASSWORD_CODE', { field: 'passcode' });
    return refuseGuess(deps, caller, ctx, { method, wrong, replay: verdict.ok });
  }
  deps.audit.logged(changed);
  deps.metrics.codeValidated(method, 'success');
  if (caller.pendingId() === pending.id) caller.setPendingId(undefined);
  return { chosen_method: method, phone: phoneOf(deps, await findUsMethods(deps.db, user.id)) };
}
