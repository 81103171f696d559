import type { LoginOutcome } from '../auth/after-password.js';
import type { Caller } from '../caller.js';
import type { UsMethod } from '../config.js';
import { AppError, ValidationError } from '../errors.js';
import { startPending, wipePending } from '../two-factor/pending.js';
import { findUserByEmail, findUserById, type User } from '../users/users.repository.js';
import type { PasscodeKind, UsDeps } from './deps.js';
import { asFactorUser, codeMethods, factorFor, usFactorDeps } from './methods.js';
import { checkPasscode } from './passcode.service.js';
import { findUsMethods } from './us.repository.js';

export interface UsSignInRequest {
  identity: string;
  passcode: string;
  remember: boolean;
}

/** The answer to a wrong passcode or unknown identity: one answer for both (README "Unified sign-in"). */
function signInRefused(deps: UsDeps): AppError {
  return deps.config.SECURITY_US_RETURN_GENERIC_RESPONSES
    ? new AppError('GENERIC_AUTHN_FAILED')
    : new AppError('INVALID_PASSWORD_CODE', { field: 'passcode' });
}

/**
 * POST /us-signin: the passcode is the first factor. A method in
 * SECURITY_US_MFA_REQUIRED goes on through the same port as /login's password
 * (auth/after-password.ts: remembered device, pending second factor, setup when
 * required); any other (a code from something the user holds) signs in at once.
 */
export async function usSignIn(deps: UsDeps, caller: Caller, req: UsSignInRequest): Promise<LoginOutcome> {
  const lookup = () => findUserByEmail(deps.db, req.identity);
  const check = { identity: req.identity, lookup, passcode: req.passcode, kind: 'us_signin' as const };
  const { user, method } = await checkPasscode(deps, caller, check, () => signInRefused(deps));
  if (!user.active) {
    await deps.audit.record(deps.db, 'signin.failure', user.id, caller.audit, { reason: 'disabled' });
    deps.metrics.signIn('failure');
    throw deps.config.SECURITY_US_RETURN_GENERIC_RESPONSES ? signInRefused(deps) : new AppError('DISABLED_ACCOUNT');
  }
  if (deps.config.SECURITY_US_MFA_REQUIRED.includes(method)) {
    const firstFactor = method === 'password' ? undefined : method;
    const outcome = await deps.afterPassword.proceed(caller, user, { remember: req.remember, firstFactor });
    // The first factor was this method, not necessarily the password.
    if (outcome.kind === 'signed-in') return { ...outcome, methods: withFirstFactor(outcome.methods, method) };
    return outcome;
  }
  await wipePending(deps, caller);
  return { kind: 'signed-in', user, methods: [method] };
}

function withFirstFactor(methods: readonly string[], method: UsMethod): string[] {
  return methods.map((m) => (m === 'password' ? method : m));
}

/** POST /us-verify: a passcode of the signed-in user makes the session fresh. */
export async function usVerify(deps: UsDeps, caller: Caller & { auth: NonNullable<Caller['auth']> }, passcode: string) {
  const user = await findUserById(deps.db, caller.auth.userId);
  if (!user) throw new AppError('UNAUTHENTICATED');
  const check = { identity: user.email, lookup: async () => user, passcode, kind: 'us_verify' as const };
  const wrong = () => new AppError('INVALID_PASSWORD_CODE', { field: 'passcode' });
  const { method } = await checkPasscode(deps, caller, check, wrong);
  await deps.audit.record(deps.db, 'verify.success', user.id, caller.audit, { method });
  return { method };
}

export interface SendCodeRequest {
  chosenMethod: string;
  kind: PasscodeKind;
  /** /us-signin/send-code: the identity given; /us-verify/send-code: the signed-in user. */
  user: () => Promise<User | undefined>;
}

/**
 * POST /us-signin/send-code and /us-verify/send-code: a code for one of the
 * user's methods, sent through that method's factor (its send limits and, for
 * SMS, the SMS budgets), kept hashed on a pending row of the session that
 * expires with SECURITY_US_TOKEN_VALIDITY. An unknown identity, and one without
 * this method, get the same answer: US_METHOD_NOT_AVAILABLE, or with
 * SECURITY_US_RETURN_GENERIC_RESPONSES a success whatever happened.
 */
export async function usSendCode(deps: UsDeps, caller: Caller, req: SendCodeRequest): Promise<void> {
  const notAvailable = new ValidationError([{ field: 'chosen_method', key: 'US_METHOD_NOT_AVAILABLE' }]);
  if (!(codeMethods(deps.config) as string[]).includes(req.chosenMethod)) throw notAvailable;
  const generic = deps.config.SECURITY_US_RETURN_GENERIC_RESPONSES && req.kind === 'us_signin';
  const user = await req.user();
  const row = user?.active ? (await findUsMethods(deps.db, user.id)).find((r) => r.method === req.chosenMethod) : null;
  if (!user || !row) {
    if (generic) return;
    throw notAvailable;
  }
  try {
    const factor = factorFor(deps.factors, row.method);
    const fdeps = usFactorDeps(deps);
    // Limits first: over a limit nothing changes, and a code sent earlier stays valid.
    const challenge = await factor.challenge(fdeps, asFactorUser(user, row), null, caller.audit);
    await wipePending(deps, caller);
    const pending = await startPending(deps, caller, user, {
      kind: req.kind,
      state: 'ready',
      remember: false,
      expiresInSeconds: deps.config.SECURITY_US_TOKEN_VALIDITY,
    });
    await challenge?.issue(pending.id, 'signin', caller.audit);
  } catch (err) {
    // Generic answers tell nothing about the account, its limits or its delivery either.
    if (generic && err instanceof AppError) return;
    throw err;
  }
}
