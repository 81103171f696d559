import type { AuditRow } from '../audit/audit.js';
import type { Caller } from '../caller.js';
import { rememberDevice, rememberingEnabled, type RememberedDevice } from '../devices/devices.service.js';
import { AppError } from '../errors.js';
import { FAILURE_RUN_RESET, type User } from '../users/users.repository.js';
import { chargeGuess, chargeStep, refuseGuess } from './budget/attempts.js';
import type { TfDeps } from './deps.js';
import {
  factorForProof,
  factorOf,
  type Attempt,
  type Factor,
  type Proof,
  type Verdict,
  type WithFactors,
} from './factors/factor.js';
import { rescueEmail } from './factors/sent-code.js';
import { STEP, type StepRule } from './flow.js';
import { humanDuration } from './human-duration.js';
import { signInMethods, type PendingContext } from './pending.js';
import { completePending, findPendingInScope } from './pending.repository.js';
import { readProof } from './proof.js';
import { readStateToken } from './state-token.js';

/** What a passed second-factor step leads to; the handler applies it to the session (auth/signin.ts). */
export type StepOutcome =
  | {
      kind: 'signed-in';
      user: User;
      remember: boolean;
      methods: string[];
      /** The signin.success row, written already by the statement that completed the sign-in. */
      audited: AuditRow;
      /** A remembered device to set the cookie of (tf_validity). */
      device: RememberedDevice | undefined;
    }
  | { kind: 'changed'; user: User };

/** POST /tf-validate: a code for the session's pending sign-in or setup. */
export async function validateSecondFactor(
  deps: TfDeps & WithFactors,
  caller: Caller,
  body: unknown,
): Promise<StepOutcome> {
  return validateProof(deps, caller, STEP.validate, () => readProof(body));
}

/**
 * A step with a proof for the caller's pending row (a code at /tf-validate, a key's
 * assertion at /wan-signin/{wan_state}): state, then input, then charge, then decide.
 */
export async function validateProof(
  deps: TfDeps & WithFactors,
  caller: Caller,
  step: StepRule,
  read: () => Proof,
): Promise<StepOutcome> {
  const { ctx, input: proof } = await chargeStep(deps, caller, step, read);
  return decide(deps, caller, ctx, proof);
}

/** POST /tf-setup/{tf_state_token}: a signed-in user confirms a new setup named by the token. */
export async function confirmSetup(
  deps: TfDeps & WithFactors,
  caller: Caller & { auth: NonNullable<Caller['auth']> },
  token: string,
  body: unknown,
): Promise<StepOutcome> {
  const proof = readProof(body);
  const now = deps.clock.now();
  const named = readStateToken(deps.hmac, token, now);
  if (!named.ok) {
    if (!named.expired) throw new AppError('API_ERROR');
    const within = humanDuration(deps.config.SECURITY_TWO_FACTOR_SETUP_WITHIN);
    throw new AppError('TWO_FACTOR_SETUP_EXPIRED', { params: { within } });
  }
  const scope = { id: named.pendingId, now, ...STEP.confirm, signedInUserId: caller.auth.userId };
  if (!(await findPendingInScope(deps.db, scope))) throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
  return decide(deps, caller, await chargeGuess(deps, caller, scope), proof);
}

/**
 * The guess was charged (to the pending row's cap and the user's lockout,
 * before anything was looked at); now: verify, then complete or refuse. The
 * rescue code is tried first, as it is accepted whatever the user's factor is.
 */
async function decide(
  deps: TfDeps & WithFactors,
  caller: Caller,
  ctx: PendingContext,
  proof: Proof,
): Promise<StepOutcome> {
  const attempt = { ...attemptOf(deps, ctx), audit: caller.audit };
  const own = attempt.enrolment
    ? factorOf(deps.factors, ctx.pending.setup_method)
    : factorForProof(deps.factors, ctx.user, proof);
  let factor: Pick<Factor, 'confirmed'> = rescueEmail;
  let verdict: Verdict = await rescueEmail.verify(deps, proof, attempt);
  if (!verdict.ok && own) [factor, verdict] = [own, await own.verify(deps, proof, attempt)];
  const audit = verdict.ok ? passedAudit(deps, caller, ctx, verdict) : [];
  const user = verdict.ok
    ? await completePending(deps.db, {
        pendingId: ctx.pending.id,
        userId: ctx.user.id,
        fsUniquifier: ctx.pending.fs_uniquifier,
        ...withFailuresReset(factor.confirmed(attempt, verdict)),
        audit,
      })
    : undefined;
  if (!verdict.ok || !user) {
    return refuseGuess(deps, caller, ctx, {
      method: own?.id ?? 'none',
      wrong: (!verdict.ok && verdict.refusal) || new AppError('TWO_FACTOR_INVALID_TOKEN', { field: 'code' }),
      // Right, but a concurrent request completed first (or the step was used): a replay.
      replay: verdict.ok || verdict.replay === true,
    });
  }
  const signin = audit.find((row) => row.type === 'signin.success');
  for (const row of audit) if (row !== signin) deps.audit.logged(row);
  deps.metrics.codeValidated(verdict.factor, 'success');
  if (ctx.pending.kind === 'change' || !signin) {
    caller.setPendingId(undefined);
    return { kind: 'changed', user };
  }
  const remember = ctx.pending.remember;
  const device =
    remember && rememberingEnabled(deps.config) ? await rememberDevice(deps, user, caller.audit) : undefined;
  const methods = signInMethods(ctx.pending, verdict.factor);
  return { kind: 'signed-in', user, remember, methods, audited: signin, device };
}

function attemptOf(deps: TfDeps, { pending, user }: PendingContext): Attempt {
  const setup = pending.state === 'validating_profile';
  const enrolment = setup ? { secret: pending.setup_secret, phone: pending.setup_phone } : null;
  return { pending, user, enrolment, now: deps.clock.now() };
}

/** A passed second factor ends the run of failures and the doubling of the lockout. */
function withFailuresReset<C extends { changes: object }>(c: C): C {
  return { ...c, changes: { ...c.changes, ...FAILURE_RUN_RESET } };
}

/** The audit rows of a passed second factor, written by the statement that completes it. */
function passedAudit(
  deps: TfDeps,
  caller: Caller,
  { pending, user }: PendingContext,
  verdict: Extract<Verdict, { ok: true }>,
): AuditRow[] {
  const rescue = verdict.rescue === true;
  const row = (type: Parameters<TfDeps['audit']['row']>[0], details: Record<string, unknown>) =>
    deps.audit.row(type, user.id, caller.audit, details);
  const rows = [row('tf.passed', { method: verdict.factor, rescue })];
  if (rescue) rows.push(row('rescue.used', { option: 'email' }));
  if (pending.state === 'validating_profile') rows.push(row('tf.setup_changed', { method: pending.setup_method }));
  if (pending.kind === 'signin') rows.push(row('signin.success', { methods: signInMethods(pending, verdict.factor) }));
  return rows;
}
