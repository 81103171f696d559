import type { FastifyInstance } from 'fastify';
import type { CompleteDeps } from '../auth/signin.js';
import { requireFresh } from '../http/auth-context.js';
import { callerOf } from '../http/caller.js';
import { readBody } from '../http/input.js';
import { rescueCaller } from '../rescue/rescue.service.js';
import type { TfDeps } from '../two-factor/deps.js';
import { applyStepOutcome } from '../two-factor/apply-outcome.js';
import { countUnusedRecoveryCodes } from './recovery-codes.repository.js';
import { regenerateRecoveryCodes } from './recovery-codes.service.js';
import { signInWithRecoveryCode } from './recovery.service.js';

/** Recovery codes (openapi.yaml): absent, so 404, when SECURITY_MULTI_FACTOR_RECOVERY_CODES is false. */
export async function recoveryCodesRoutes(app: FastifyInstance, deps: TfDeps & CompleteDeps): Promise<void> {
  if (!deps.config.SECURITY_MULTI_FACTOR_RECOVERY_CODES) return;

  // Codes are shown only when generated (beyond Flask-Security), so the list is always empty here.
  app.get('/mf-recovery-codes', async (request) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    return { recovery_codes: [], recovery_codes_remaining: await countUnusedRecoveryCodes(deps.db, auth.user.id) };
  });

  app.post('/mf-recovery-codes', async (request) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    // The body is optional; when present it must be an object (it may carry csrf_token).
    readBody(request.body).done();
    return { recovery_codes: await regenerateRecoveryCodes(deps, auth.user.id, callerOf(request).audit) };
  });

  app.get('/mf-recovery', async (request) => {
    await rescueCaller(deps, callerOf(request));
    return {};
  });

  app.post('/mf-recovery', { config: { csrfExempt: true } }, async (request, reply) => {
    const outcome = await signInWithRecoveryCode(deps, callerOf(request), request.body);
    return applyStepOutcome(deps, request, reply, outcome);
  });
}
