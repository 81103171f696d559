import type { Caller } from '../caller.js';
import { deleteUserDevices } from '../devices/devices.repository.js';
import { AppError, ValidationError } from '../errors.js';
import { policyOf } from '../policy/policy.service.js';
import { methodAllowed, type TwoFactorPolicy } from '../policy/two-factor-policy.js';
import { clearSecondFactor, findUserById, type User } from '../users/users.repository.js';
import type { TfDeps } from './deps.js';
import { factorOf, type Factor, type FactorId, type WithFactors } from './factors/factor.js';
import { STEP } from './flow.js';
import { requirePending, startPending, wipePending, type PendingContext } from './pending.js';
import { updatePending } from './pending.repository.js';
import { issueStateToken } from './state-token.js';

/**
 * Who may use /tf-setup: a signed-in user (the handler checked freshness), or
 * a pending sign-in that must set up.
 */
export async function setupCaller(
  deps: TfDeps,
  caller: Caller,
): Promise<{ user: User; pending: PendingContext | null }> {
  if (caller.auth) {
    const user = await findUserById(deps.db, caller.auth.userId);
    if (!user) throw new AppError('UNAUTHENTICATED');
    return { user, pending: null };
  }
  const pending = await requirePending(deps, caller, STEP.setup);
  return { user: pending.user, pending };
}

/** The choices of GET /tf-setup: the methods the policy allows this user, and `disable` when 2FA is optional for them. */
export function availableMethods(policy: TwoFactorPolicy, user: User): string[] {
  return !policy.required && user.tf_primary_method ? ['disable', ...policy.methods] : [...policy.methods];
}

export interface SetupRequest {
  setup: string;
  phone: string | undefined;
}

export type SetupOutcome =
  | { kind: 'setup'; answer: Record<string, unknown> }
  /** `setup: "disable"`: the user has no second factor any more. */
  | { kind: 'disabled'; user: Pick<User, 'tf_primary_method'> };

/**
 * An enabled method's factor, else 400 TWO_FACTOR_METHOD_NOT_AVAILABLE on `setup`;
 * an enabled method the user's roles forbid (SECURITY_TWO_FACTOR_METHODS_BY_ROLE)
 * is 400 TWO_FACTOR_METHOD_NOT_ALLOWED, so the client can say why.
 */
function chosenFactor(deps: TfDeps & WithFactors, policy: TwoFactorPolicy, setup: string): Factor {
  const enabled: readonly string[] = deps.config.SECURITY_TWO_FACTOR_ENABLED_METHODS;
  const factor = enabled.includes(setup) ? factorOf(deps.factors, setup) : null;
  if (!factor) throw new ValidationError([{ field: 'setup', key: 'TWO_FACTOR_METHOD_NOT_AVAILABLE' }]);
  if (!methodAllowed(policy, setup))
    throw new ValidationError([{ field: 'setup', key: 'TWO_FACTOR_METHOD_NOT_ALLOWED' }]);
  return factor;
}

/**
 * POST /tf-setup: the factor makes the enrolment (nothing is stored on the user
 * until a proof confirms it, openapi.yaml /tf-setup) and its challenge.
 */
export async function beginSetup(
  deps: TfDeps & WithFactors,
  caller: Caller,
  choice: SetupRequest,
): Promise<SetupOutcome> {
  const { user, pending } = await setupCaller(deps, caller);
  const policy = await policyOf(deps, user);
  if (choice.setup === 'disable') return disable(deps, caller, user, pending, policy);
  const factor = chosenFactor(deps, policy, choice.setup);
  const { enrolment, answer } = await factor.enrol(deps, user, { phone: choice.phone }, caller.audit);
  // Limits first: over the limit nothing changes and an earlier code stays valid.
  const challenge = await factor.challenge(deps, user, enrolment, caller.audit);
  const method: FactorId = factor.id;
  const setup = {
    state: 'validating_profile' as const,
    setup_method: method,
    setup_secret: enrolment.secret,
    setup_phone: enrolment.phone,
  };
  let pendingId: string;
  if (pending) {
    pendingId = pending.pending.id;
    await updatePending(deps.db, pendingId, {
      ...setup,
      code_hash: null,
      code_purpose: null,
      code_destination: null,
      code_expires_at: null,
    });
  } else {
    await wipePending(deps, caller);
    const change = { kind: 'change', state: 'validating_profile', remember: false } as const;
    pendingId = (await startPending(deps, caller, user, change)).id;
    await updatePending(deps.db, pendingId, setup);
  }
  await challenge?.issue(pendingId, 'setup', caller.audit);
  const expires = new Date(deps.clock.now().getTime() + deps.config.SECURITY_TWO_FACTOR_SETUP_WITHIN * 1000);
  return {
    kind: 'setup',
    answer: {
      tf_state: 'validating_profile',
      tf_primary_method: method,
      tf_method: method,
      tf_state_token: pending ? null : issueStateToken(deps.hmac, pendingId, user.id, expires),
      ...answer,
    },
  };
}

/** `setup: "disable"`: only for a signed-in user, and only when the policy leaves 2FA optional for them. */
async function disable(
  deps: TfDeps,
  caller: Caller,
  user: User,
  pending: PendingContext | null,
  policy: TwoFactorPolicy,
): Promise<SetupOutcome> {
  if (pending || policy.required) {
    throw new ValidationError([{ field: 'setup', key: 'TWO_FACTOR_METHOD_NOT_AVAILABLE' }]);
  }
  await wipePending(deps, caller);
  await deps.db.transaction().execute(async (trx) => {
    await clearSecondFactor(trx, user.id);
    await deleteUserDevices(trx, user.id);
    await deps.audit.record(trx, 'tf.disabled', user.id, caller.audit);
  });
  return { kind: 'disabled', user: { tf_primary_method: null } };
}
