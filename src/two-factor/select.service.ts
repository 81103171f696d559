import type { Caller } from '../caller.js';
import { ValidationError } from '../errors.js';
import type { TfDeps } from './deps.js';
import { askAnswer, heldFactors, type WithFactors } from './factors/factor.js';
import { STEP } from './flow.js';
import { requirePending } from './pending.js';
import { updatePending } from './pending.repository.js';

/** GET /tf-select: the factors a sign-in in state `select` may pick from (openapi.yaml). */
export async function selectChoices(deps: TfDeps & WithFactors, caller: Caller): Promise<Record<string, unknown>> {
  const { user } = await requirePending(deps, caller, STEP.select);
  const held = await heldFactors(deps, deps.factors, user);
  return { tf_select: true, tf_setup_methods: held.map((f) => f.id) };
}

/**
 * POST /tf-select {which}: the sign-in goes on with the chosen factor (state `ready`),
 * answered as /login answers for a user with that one factor; a code method's code is
 * sent now. Either factor is then accepted (as in Flask-Security): the choice only says
 * which to ask for.
 */
export async function selectFactor(
  deps: TfDeps & WithFactors,
  caller: Caller,
  which: string,
): Promise<Record<string, unknown>> {
  const { pending, user } = await requirePending(deps, caller, STEP.select);
  const factor = (await heldFactors(deps, deps.factors, user)).find((f) => f.id === which);
  if (!factor) throw new ValidationError([{ field: 'which', key: 'TWO_FACTOR_METHOD_NOT_AVAILABLE' }]);
  // Limits first: over the send limit nothing changes and the sign-in may pick again.
  const challenge = await factor.challenge(deps, user, null, caller.audit);
  await updatePending(deps.db, pending.id, { state: 'ready' });
  await challenge?.issue(pending.id, 'signin', caller.audit);
  return askAnswer(factor, user);
}
