import type { FastifyInstance } from 'fastify';
import { readBody } from '../http/input.js';
import type { TfDeps } from '../two-factor/deps.js';
import { recoveryOptions } from './options.js';
import { rescue, rescueCaller } from './rescue.service.js';

/**
 * Path 4 of the two-factor sign-in (SPEC §3 "Rescue"). The POST is
 * csrfExempt: it refuses signed-in callers, so there is no session to forge
 * (README decisions).
 */
export async function rescueRoutes(app: FastifyInstance, deps: TfDeps): Promise<void> {
  app.get('/tf-rescue', async (request) => {
    const { user } = await rescueCaller(deps, request);
    return { recovery_options: await recoveryOptions(deps, user) };
  });

  app.post('/tf-rescue', { config: { csrfExempt: true } }, async (request) => {
    const ctx = await rescueCaller(deps, request);
    const body = readBody(request.body);
    const choice = body.string('help_setup', { max: 32 });
    body.done();
    return rescue(deps, request, ctx, choice);
  });
}
