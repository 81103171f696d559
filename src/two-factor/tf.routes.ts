import type { FastifyInstance } from 'fastify';
import { AppError, ValidationError } from '../errors.js';
import { requireAuth } from '../http/auth-context.js';
import { readBody, wantsAuthToken } from '../http/input.js';
import { chargeGuess, chargeSessionGuess } from './budget/attempts.js';
import { humanDuration } from './human-duration.js';
import { requirePending } from './pending.js';
import { findPendingInScope, type PendingScope } from './pending.repository.js';
import { normalizeCodeInput } from './factors/otp-code.js';
import { recoveryOptions } from '../rescue/options.js';
import { availableMethods, beginSetup, setupCaller } from './setup.service.js';
import { readStateToken } from './state-token.js';
import { validate, type ValidateDeps } from './validate.service.js';

/** The code field: REQUIRED when absent, API_ERROR for a wrong type; any string or number is a guess. */
function readCode(body: unknown): string | null {
  const raw = readBody(body).raw('code');
  if (raw === undefined || raw === null || raw === '') throw new ValidationError([{ field: 'code', key: 'REQUIRED' }]);
  if (typeof raw !== 'string' && typeof raw !== 'number')
    throw new ValidationError([{ field: 'code', key: 'API_ERROR' }]);
  if (typeof raw === 'string' && raw.length > 64) throw new ValidationError([{ field: 'code', key: 'API_ERROR' }]);
  return normalizeCodeInput(raw);
}

export async function twoFactorRoutes(app: FastifyInstance, deps: ValidateDeps): Promise<void> {
  app.get('/tf-setup', async (request) => {
    const { user, pending } = await setupCaller(deps, request);
    const setupMethod = pending?.pending.state === 'validating_profile' ? pending.pending.setup_method : null;
    return {
      tf_required: deps.config.SECURITY_TWO_FACTOR_REQUIRED,
      tf_primary_method: user.tf_primary_method,
      tf_method: setupMethod ?? user.tf_primary_method,
      tf_phone_number: user.tf_phone_number,
      tf_available_methods: availableMethods(deps, user),
    };
  });

  app.post('/tf-setup', async (request) => {
    const body = readBody(request.body);
    const setup = body.string('setup', { max: 32 });
    const phone = body.optionalString('phone', { max: 64 });
    body.done();
    return beginSetup(deps, request, { setup, phone });
  });

  app.post<{ Params: { tf_state_token: string } }>('/tf-setup/:tf_state_token', async (request, reply) => {
    const auth = requireAuth(request);
    const code = readCode(request.body);
    const now = deps.clock.now();
    const token = readStateToken(deps.hmac, request.params.tf_state_token, now);
    if (!token.ok) {
      if (token.expired)
        throw new AppError('TWO_FACTOR_SETUP_EXPIRED', {
          params: { within: humanDuration(deps.config.SECURITY_TWO_FACTOR_SETUP_WITHIN) },
        });
      throw new AppError('API_ERROR');
    }
    const scope: PendingScope = {
      id: token.pendingId,
      now,
      states: ['validating_profile'],
      kinds: ['change'],
      signedInUserId: auth.user.id,
    };
    if (!(await findPendingInScope(deps.db, scope))) throw new AppError('TWO_FACTOR_PERMISSION_DENIED');
    const ctx = await chargeGuess(deps, request, scope);
    return validate(deps, request, reply, ctx, code, wantsAuthToken(request.query));
  });

  app.get('/tf-validate', async (request) => {
    const { pending, user } = await requirePending(deps, request, ['ready', 'validating_profile']);
    // No user data before the second factor; a signed-in change needs no rescue.
    return pending.kind === 'signin' && pending.state === 'ready'
      ? { recovery_options: await recoveryOptions(deps, user) }
      : {};
  });

  app.post('/tf-validate', async (request, reply) => {
    const { ctx, input: code } = await chargeSessionGuess(
      deps,
      request,
      ['ready', 'validating_profile'],
      ['signin', 'change'],
      () => readCode(request.body),
    );
    return validate(deps, request, reply, ctx, code, wantsAuthToken(request.query));
  });
}
