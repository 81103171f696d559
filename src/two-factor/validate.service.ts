import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { completeSignIn } from '../auth/after-password.js';
import { authTokenFor, publicUser, type SignInDeps } from '../auth/signin.js';
import { rememberDevice, rememberingEnabled } from '../devices/devices.service.js';
import { AppError } from '../errors.js';
import type { User } from '../users/users.repository.js';
import type { TfDeps } from './context.js';
import { chargeGuess, refuseGuess } from './attempts.js';
import type { PendingContext } from './pending.js';
import { deletePending } from './pending.repository.js';
import { checkCode, type CodeCheck } from './verify-code.js';

export type ValidateDeps = TfDeps & SignInDeps;

class Replayed extends Error {}

/** The method a code was expected for: the new setup's, or the user's. */
function expectedMethod(ctx: PendingContext): string {
  return (ctx.pending.state === 'validating_profile' ? ctx.pending.setup_method : ctx.user.tf_primary_method) ?? 'none';
}

/**
 * Validates a second-factor code for a pending sign-in or setup. Guards in a
 * fixed order (STYLE habit 4): the attempt is charged to the pending state and
 * to the user before the code is looked at, atomically, so a burst of guesses
 * never gets more checks than the budget (SPEC §4.2).
 */
export async function validate(
  deps: ValidateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: PendingContext,
  code: string | null,
  includeToken: boolean,
): Promise<Record<string, unknown>> {
  const attempts = await chargeGuess(deps, request, ctx);
  let check: CodeCheck = code ? await checkCode(deps, ctx.pending, ctx.user, code) : { ok: false };
  let updated: User | undefined;
  if (check.ok) {
    try {
      updated = await commit(deps, ctx, check);
    } catch (err) {
      if (!(err instanceof Replayed)) throw err;
      check = { ok: false };
    }
  }
  if (!check.ok || !updated) return refuseGuess(deps, request, ctx, attempts, { method: expectedMethod(ctx), wrong: new AppError('TWO_FACTOR_INVALID_TOKEN', { field: 'code' }) });
  return success(deps, request, reply, ctx, updated, check, includeToken);
}

/**
 * One transaction decides: the pending row is consumed (only one request can),
 * the TOTP step is compared-and-set (replay, SPEC §4.3), a confirmed setup is
 * stored, and the failure count is reset.
 */
async function commit(deps: ValidateDeps, ctx: PendingContext, check: Extract<CodeCheck, { ok: true }>): Promise<User> {
  const { pending, user } = ctx;
  const setup = pending.state === 'validating_profile';
  return deps.db.transaction().execute(async (trx) => {
    if (!(await deletePending(trx, pending.id))) throw new Replayed();
    const changes: Record<string, unknown> = {};
    if (setup) {
      Object.assign(changes, {
        tf_primary_method: pending.setup_method,
        tf_totp_secret: pending.setup_method === 'authenticator' ? pending.setup_secret : null,
        tf_phone_number: pending.setup_method === 'sms' ? pending.setup_phone : null,
        tf_totp_last_step: check.totpStep ?? null,
      });
    }
    let q = trx.updateTable('users').set({ ...changes, tf_failures: 0, tf_lockouts: 0, tf_locked_until: null }).where('id', '=', user.id);
    if (!setup && check.totpStep !== undefined) {
      q = q.set({ tf_totp_last_step: check.totpStep }).where((eb) => eb.or([eb('tf_totp_last_step', 'is', null), eb('tf_totp_last_step', '<', check.totpStep!)]));
    }
    const row = await q.returningAll().executeTakeFirst();
    if (!row) throw new Replayed();
    return row;
  });
}

async function success(
  deps: ValidateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: PendingContext,
  user: User,
  check: Extract<CodeCheck, { ok: true }>,
  includeToken: boolean,
): Promise<Record<string, unknown>> {
  const audit = auditContext(request);
  await deps.audit.record(deps.db, 'tf.passed', user.id, audit, { method: check.method, rescue: check.rescue === true });
  deps.metrics.codeValidated(check.method, 'success');
  if (check.rescue) await deps.audit.record(deps.db, 'rescue.used', user.id, audit, { option: 'email' });
  if (ctx.pending.state === 'validating_profile') {
    await deps.audit.record(deps.db, 'tf.setup_changed', user.id, audit, { method: user.tf_primary_method });
  }
  if (ctx.pending.kind === 'change') {
    delete request.session.pendingId;
    if (request.session._user) request.session._user = { ...request.session._user, tf_primary_method: user.tf_primary_method };
    const token = includeToken && request.auth ? authTokenFor(deps, user, request.auth.authAt) : undefined;
    return { user: publicUser(user, token) };
  }
  const remember = ctx.pending.remember;
  const answer = await completeSignIn(deps, request, user, { remember, methods: ['password', check.method], includeToken });
  if (remember && rememberingEnabled(deps.config)) await rememberDevice(deps, reply, user, audit);
  return answer;
}

