import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditContext, type AuditRow } from '../audit/audit.js';
import { completeSignIn } from '../auth/after-password.js';
import { authTokenFor, publicUser, type SignInDeps } from '../auth/signin.js';
import { rememberDevice, rememberingEnabled } from '../devices/devices.service.js';
import { AppError } from '../errors.js';
import type { User } from '../users/users.repository.js';
import type { TfDeps } from './deps.js';
import { refuseGuess } from './budget/attempts.js';
import type { PendingContext } from './pending.js';
import { consumePending } from './pending.repository.js';
import { checkCode, type CodeCheck } from './verify-code.js';

export type ValidateDeps = TfDeps & SignInDeps;

type Passed = Extract<CodeCheck, { ok: true }>;

/** The method a code was expected for: the new setup's, or the user's. */
function expectedMethod(ctx: PendingContext): string {
  return (ctx.pending.state === 'validating_profile' ? ctx.pending.setup_method : ctx.user.tf_primary_method) ?? 'none';
}

/**
 * Validates a second-factor code for a pending sign-in or setup whose guess
 * was charged already (attempts.ts: to the pending state and to the user,
 * atomically, before the code is looked at, SPEC §4.2).
 */
export async function validate(
  deps: ValidateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: PendingContext,
  code: string | null,
  includeToken: boolean,
): Promise<Record<string, unknown>> {
  const check: CodeCheck = code ? await checkCode(deps, ctx.pending, ctx.user, code) : { ok: false };
  const audit = check.ok ? passedAudit(deps, request, ctx, check) : [];
  const updated = check.ok ? await commit(deps, ctx, check, audit) : undefined;
  if (!check.ok || !updated)
    return refuseGuess(deps, request, ctx, {
      method: expectedMethod(ctx),
      wrong: new AppError('TWO_FACTOR_INVALID_TOKEN', { field: 'code' }),
    });
  for (const row of audit) deps.audit.logged(row);
  return success(
    deps,
    request,
    reply,
    ctx,
    updated,
    check,
    includeToken,
    audit.find((r) => r.type === 'signin.success'),
  );
}

/** The audit rows of a passed second factor, written by the statement that commits it. */
function passedAudit(deps: ValidateDeps, request: FastifyRequest, ctx: PendingContext, check: Passed): AuditRow[] {
  const { pending, user } = ctx;
  const audit = auditContext(request);
  const rows = [deps.audit.row('tf.passed', user.id, audit, { method: check.method, rescue: check.rescue === true })];
  if (check.rescue) rows.push(deps.audit.row('rescue.used', user.id, audit, { option: 'email' }));
  if (pending.state === 'validating_profile')
    rows.push(deps.audit.row('tf.setup_changed', user.id, audit, { method: pending.setup_method }));
  if (pending.kind === 'signin')
    rows.push(deps.audit.row('signin.success', user.id, audit, { methods: ['password', check.method] }));
  return rows;
}

/**
 * One statement decides: the pending row is consumed (only one request can),
 * the TOTP step is compared-and-set (replay, SPEC §4.3), a confirmed setup is
 * stored, the failure count is reset, and the audit rows are written. Undefined
 * when another request consumed the row first or the step was replayed.
 */
function commit(deps: ValidateDeps, ctx: PendingContext, check: Passed, audit: AuditRow[]): Promise<User | undefined> {
  const { pending, user } = ctx;
  const setup = pending.state === 'validating_profile';
  const changes = setup
    ? {
        tf_primary_method: pending.setup_method,
        tf_totp_secret: pending.setup_method === 'authenticator' ? pending.setup_secret : null,
        tf_phone_number: pending.setup_method === 'sms' ? pending.setup_phone : null,
        tf_totp_last_step: check.totpStep ?? null,
      }
    : check.totpStep !== undefined
      ? { tf_totp_last_step: check.totpStep }
      : {};
  return consumePending(deps.db, {
    pendingId: pending.id,
    userId: user.id,
    changes: { ...changes, tf_failures: 0, tf_lockouts: 0, tf_locked_until: null },
    // A new secret being set up has no history to replay.
    afterStep: setup ? undefined : check.totpStep,
    audit,
  });
}

async function success(
  deps: ValidateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: PendingContext,
  user: User,
  check: Passed,
  includeToken: boolean,
  signin: AuditRow | undefined,
): Promise<Record<string, unknown>> {
  deps.metrics.codeValidated(check.method, 'success');
  if (ctx.pending.kind === 'change') {
    delete request.session.pendingId;
    if (request.session._user)
      request.session._user = { ...request.session._user, tf_primary_method: user.tf_primary_method };
    const token = includeToken && request.auth ? authTokenFor(deps, user, request.auth.authAt) : undefined;
    return { user: publicUser(user, token) };
  }
  const remember = ctx.pending.remember;
  const answer = await completeSignIn(deps, request, user, {
    remember,
    methods: ['password', check.method],
    includeToken,
    audited: signin,
  });
  if (remember && rememberingEnabled(deps.config)) await rememberDevice(deps, reply, user, auditContext(request));
  return answer;
}
