import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  authTokenFor,
  completeSignIn,
  grantOf,
  publicUser,
  refreshCachedUser,
  type CompleteDeps,
} from '../auth/signin.js';
import { wantsAuthToken } from '../http/input.js';
import type { StepOutcome } from './validate.service.js';

/** Applies a passed step to the session: signed in (new session), or a signed-in user's setup changed. */
export async function applyStepOutcome(
  deps: CompleteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: StepOutcome,
): Promise<{ user: Record<string, unknown> }> {
  const includeToken = wantsAuthToken(request.query);
  if (outcome.kind === 'signed-in') {
    const { user, remember, methods, audited, device } = outcome;
    return completeSignIn(deps, request, reply, user, { remember, methods, includeToken, audited, device });
  }
  refreshCachedUser(request, outcome.user);
  const token =
    includeToken && request.auth ? await authTokenFor(deps, outcome.user, grantOf(request.auth), reply) : undefined;
  return { user: publicUser(outcome.user, token) };
}
