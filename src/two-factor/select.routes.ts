import type { FastifyInstance } from 'fastify';
import { callerOf } from '../http/caller.js';
import { readBody } from '../http/input.js';
import type { TfDeps } from './deps.js';
import type { WithFactors } from './factors/factor.js';
import { selectChoices, selectFactor } from './select.service.js';

/** /tf-select: a user with two second factors (a code method and security keys) picks one (openapi.yaml). */
export async function selectRoutes(app: FastifyInstance, deps: TfDeps & WithFactors): Promise<void> {
  app.get('/tf-select', async (request) => selectChoices(deps, callerOf(request)));

  app.post('/tf-select', async (request) => {
    const body = readBody(request.body);
    const which = body.optionalString('which', { max: 32 }) ?? '';
    body.done();
    return selectFactor(deps, callerOf(request), which);
  });
}
