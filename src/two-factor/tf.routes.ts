import type { FastifyInstance, FastifyRequest } from 'fastify';
import { refreshCachedUser, type CompleteDeps } from '../auth/signin.js';
import { applyStepOutcome } from './apply-outcome.js';
import { requireAuth, requireFresh } from '../http/auth-context.js';
import { callerOf } from '../http/caller.js';
import { readBody } from '../http/input.js';
import type { RescueOptions } from '../rescue/options.js';
import type { TfDeps } from './deps.js';
import type { WithFactors } from './factors/factor.js';
import { STEP } from './flow.js';
import { requirePending } from './pending.js';
import { policyOf } from '../policy/policy.service.js';
import { availableMethods, beginSetup, setupCaller } from './setup.service.js';
import { confirmSetup, validateSecondFactor } from './validate.service.js';

export type TfRouteDeps = TfDeps & WithFactors & CompleteDeps & { rescueOptions: RescueOptions };

/** The caller of /tf-setup: a signed-in user must have signed in recently (README, SECURITY_FRESHNESS). */
function setupCallerOf(deps: TfRouteDeps, request: FastifyRequest) {
  if (request.auth) requireFresh(request, deps.config, deps.clock);
  return callerOf(request);
}

export async function twoFactorRoutes(app: FastifyInstance, deps: TfRouteDeps): Promise<void> {
  app.get('/tf-setup', async (request) => {
    const { user, pending } = await setupCaller(deps, setupCallerOf(deps, request));
    const setupMethod = pending?.pending.state === 'validating_profile' ? pending.pending.setup_method : null;
    const policy = await policyOf(deps, user);
    return {
      tf_required: policy.required,
      tf_primary_method: user.tf_primary_method,
      tf_method: setupMethod ?? user.tf_primary_method,
      tf_phone_number: user.tf_phone_number,
      tf_available_methods: availableMethods(policy, user),
    };
  });

  app.post('/tf-setup', async (request) => {
    const body = readBody(request.body);
    // Missing, empty or unknown is TWO_FACTOR_METHOD_NOT_AVAILABLE on `setup`, as in the
    // contract and Flask-Security (openapi.yaml, POST /tf-setup); only a non-string is API_ERROR.
    const setup = body.optionalString('setup') ?? '';
    const phone = body.optionalString('phone', { max: 64 });
    body.done();
    const outcome = await beginSetup(deps, setupCallerOf(deps, request), { setup, phone });
    if (outcome.kind === 'setup') return outcome.answer;
    refreshCachedUser(request, outcome.user);
    return {};
  });

  app.post<{ Params: { tf_state_token: string } }>('/tf-setup/:tf_state_token', async (request, reply) => {
    requireAuth(request);
    const caller = callerOf(request);
    const outcome = await confirmSetup(
      deps,
      { ...caller, auth: caller.auth! },
      request.params.tf_state_token,
      request.body,
    );
    return applyStepOutcome(deps, request, reply, outcome);
  });

  app.get('/tf-validate', async (request) => {
    const { pending, user } = await requirePending(deps, callerOf(request), STEP.validate);
    // No user data before the second factor; a signed-in change needs no rescue.
    return pending.kind === 'signin' && pending.state === 'ready'
      ? { recovery_options: await deps.rescueOptions(user) }
      : {};
  });

  app.post('/tf-validate', async (request, reply) => {
    const outcome = await validateSecondFactor(deps, callerOf(request), request.body);
    return applyStepOutcome(deps, request, reply, outcome);
  });
}
