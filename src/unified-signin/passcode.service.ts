import type { Caller } from '../caller.js';
import type { UsMethod } from '../config.js';
import { AppError } from '../errors.js';
import { chargeGuess, refuseGuess } from '../two-factor/budget/attempts.js';
import { normalizeCodeInput } from '../two-factor/factors/otp-code.js';
import type { Verdict } from '../two-factor/factors/factor.js';
import { startPending, type PendingContext } from '../two-factor/pending.js';
import { findPendingInScope, type PendingScope } from '../two-factor/pending.repository.js';
import { burnPasswordCheck, PASSWORD_MAX_LENGTH, verifyPassword } from '../users/passwords.js';
import type { User } from '../users/users.repository.js';
import type { PasscodeKind, UsDeps } from './deps.js';
import { asFactorUser, enabledMethods, factorFor, usFactorDeps } from './methods.js';
import { findUsMethods, finishCodePasscode, type UsMethodRow } from './us.repository.js';

export interface PasscodeCheck {
  /** The identity as given (the password throttle's key: unknown identities are throttled alike). */
  identity: string;
  /** Looked up after the throttle charged the guess, so a throttled guess costs no lookup and no hashing. */
  lookup: () => Promise<User | undefined>;
  passcode: string;
  kind: PasscodeKind;
}

/** Thrown by refuseGuess for a wrong code within the budgets: the passcode's own answer follows. */
const WRONG_CODE = new AppError('INVALID_PASSWORD_CODE', { field: 'passcode' });

/**
 * The passcode of /us-signin and /us-verify (README "Unified sign-in"): the
 * password, else a code of one of the user's methods, tried in
 * SECURITY_US_ENABLED_METHODS order. Every guess is charged to the password
 * throttle first (per identity and address, per address), before any lookup or
 * hashing; a code is also charged to the second factor's budget (the pending row's
 * cap, the user's lockout) before it is checked. An unknown identity costs the
 * same password hashing as a known one. Returns the user and the method that
 * passed; a wrong passcode throws `wrong` (or 429 once a budget runs out).
 */
export async function checkPasscode(
  deps: UsDeps,
  caller: Caller,
  check: PasscodeCheck,
  wrong: () => AppError,
): Promise<{ user: User; method: UsMethod }> {
  const event = check.kind === 'us_verify' ? 'verify.failure' : 'signin.failure';
  const attempt = await deps.throttle.begin(check.identity, caller.audit, event);
  const user = await check.lookup();
  const enabled = enabledMethods(deps.config);
  const password = check.passcode.slice(0, PASSWORD_MAX_LENGTH);
  let method: UsMethod | null = null;
  if (enabled.includes('password')) {
    const ok = user ? await verifyPassword(user.password, password) : await burnPasswordCheck(password);
    if (ok) method = 'password';
  }
  const code = normalizeCodeInput(check.passcode);
  if (!method && user && code) method = await checkCode(deps, caller, user, code, check.kind);
  if (!method || !user) {
    await deps.audit.record(deps.db, event, user?.id ?? null, caller.audit, { reason: 'credentials' });
    if (check.kind === 'us_signin') deps.metrics.signIn('failure');
    const throttled = await deps.throttle.failed(attempt, user?.id ?? null, caller.audit);
    throw throttled.key === 'RATE_LIMITED' ? throttled : wrong();
  }
  await deps.throttle.succeeded(attempt);
  return { user, method };
}

/**
 * A code for one of the user's set-up methods: a sent code is on the session's
 * pending row of this kind (made by send-code, bound to this user and its
 * destination); an authenticator code needs no send, so a pending row is made to
 * charge it to. Null when the code did not pass (charged and counted already).
 */
async function checkCode(
  deps: UsDeps,
  caller: Caller,
  user: User,
  code: string,
  kind: PasscodeKind,
): Promise<UsMethod | null> {
  const enabled: readonly string[] = enabledMethods(deps.config);
  const rows = (await findUsMethods(deps.db, user.id)).filter((r) => enabled.includes(r.method));
  if (rows.length === 0) return null;
  const scope = await passcodeScope(deps, caller, user, kind, rows);
  if (!scope) return null;
  const ctx = await chargeGuess(deps, caller, scope);
  const fdeps = usFactorDeps(deps);
  let replay = false;
  for (const row of rows) {
    const attempt = { pending: ctx.pending, user: asFactorUser(ctx.user, row), enrolment: null, now: scope.now };
    const verdict: Verdict = await factorFor(deps.factors, row.method).verify(fdeps, { kind: 'code', code }, attempt);
    if (verdict.ok) {
      if (await finish(deps, caller, ctx, verdict, kind)) return row.method;
      replay = true;
      break;
    }
    replay ||= verdict.replay === true;
  }
  try {
    return await refuseGuess(deps, caller, ctx, { method: 'passcode', wrong: WRONG_CODE, replay });
  } catch (err) {
    if (err === WRONG_CODE) return null;
    throw err;
  }
}

/** The pending row a code is charged to: the session's, if it is this user's and of this kind, else a new one. */
async function passcodeScope(
  deps: UsDeps,
  caller: Caller,
  user: User,
  kind: PasscodeKind,
  rows: readonly UsMethodRow[],
): Promise<PendingScope | null> {
  const now = deps.clock.now();
  const base = { now, states: ['ready'] as const, kinds: [kind], signedInUserId: caller.auth?.userId ?? null };
  const id = caller.pendingId();
  const found = id ? await findPendingInScope(deps.db, { ...base, id }) : undefined;
  if (found && found.user.id === user.id) return { ...base, id: found.pending.id };
  // No code was sent to this session for this user: only an authenticator's code can pass.
  if (!rows.some((r) => r.totp_secret !== null)) return null;
  const pending = await startPending(deps, caller, user, {
    kind,
    state: 'ready',
    remember: false,
    expiresInSeconds: deps.config.SECURITY_US_TOKEN_VALIDITY,
  });
  return { ...base, id: pending.id };
}

/** Ends the pending row (and the failure run); false when a concurrent request with the same code won. */
async function finish(
  deps: UsDeps,
  caller: Caller,
  ctx: PendingContext,
  verdict: Extract<Verdict, { ok: true }>,
  kind: PasscodeKind,
): Promise<boolean> {
  const passed = deps.audit.row('us.code_passed', ctx.user.id, caller.audit, { method: verdict.factor, kind });
  const user = await finishCodePasscode(deps.db, {
    pendingId: ctx.pending.id,
    userId: ctx.user.id,
    fsUniquifier: ctx.pending.fs_uniquifier,
    step: verdict.totpStep === undefined ? undefined : { value: verdict.totpStep },
    audit: [passed],
  });
  if (!user) return false;
  deps.audit.logged(passed);
  deps.metrics.codeValidated(verdict.factor, 'success');
  caller.setPendingId(undefined);
  return true;
}
