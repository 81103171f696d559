import type { FastifyInstance } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { requireFresh } from '../http/auth-context.js';
import { readBody, wantsAuthToken } from '../http/input.js';
import { rescueCaller, rescueGuess } from '../rescue/rescue.service.js';
import { addRecoveryOption } from '../rescue/options.js';
import type { ValidateDeps } from '../two-factor/validate.service.js';
import { countUnusedRecoveryCodes } from './recovery-codes.repository.js';
import { recoveryCodeOption, regenerateRecoveryCodes } from './recovery-codes.service.js';
import { signInWithRecoveryCode } from './recovery.service.js';

// Once per process, not per app: buildApp runs many times in tests and the
// probe reads the feature flag from each app's own config.
addRecoveryOption(recoveryCodeOption);

/** Recovery codes (SPEC §3): absent, so 404, when SECURITY_MULTI_FACTOR_RECOVERY_CODES is false. */
export async function recoveryCodesRoutes(app: FastifyInstance, deps: ValidateDeps): Promise<void> {
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
    return { recovery_codes: await regenerateRecoveryCodes(deps, auth.user.id, auditContext(request)) };
  });

  app.get('/mf-recovery', async (request) => {
    await rescueCaller(deps, request);
    return {};
  });

  app.post('/mf-recovery', { config: { csrfExempt: true } }, async (request) => {
    const { ctx, input: code } = await rescueGuess(deps, request, () => {
      const body = readBody(request.body);
      const code = body.string('code', { max: 64 });
      body.done();
      return code;
    });
    return signInWithRecoveryCode(deps, request, ctx, code, wantsAuthToken(request.query));
  });
}
