import type { FastifyInstance } from 'fastify';
import { callerOf } from '../http/caller.js';
import { readBody } from '../http/input.js';
import { rescue, rescueCaller, type RescueDeps } from './rescue.service.js';

/**
 * Path 4 of the two-factor sign-in (openapi.yaml, /tf-rescue). The POST is
 * csrfExempt: it refuses signed-in callers, so there is no session to forge
 * (README decisions).
 */
export async function rescueRoutes(app: FastifyInstance, deps: RescueDeps): Promise<void> {
  app.get('/tf-rescue', async (request) => {
    const { user } = await rescueCaller(deps, callerOf(request));
    return { recovery_options: await deps.rescueOptions(user) };
  });

  app.post('/tf-rescue', { config: { csrfExempt: true } }, async (request) => {
    const caller = callerOf(request);
    const ctx = await rescueCaller(deps, caller);
    const body = readBody(request.body);
    const choice = body.string('help_setup', { max: 32 });
    body.done();
    return rescue(deps, caller, ctx, choice);
  });
}
