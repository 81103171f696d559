import type { FastifyInstance } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { authTokenFor, grantOf, publicUser, type CompleteDeps } from '../auth/signin.js';
import { AppError } from '../errors.js';
import { requireAuth, requireFresh } from '../http/auth-context.js';
import { callerOf } from '../http/caller.js';
import { readBody, wantsAuthToken } from '../http/input.js';
import { applyStepOutcome } from '../two-factor/apply-outcome.js';
import type { TfDeps } from '../two-factor/deps.js';
import type { WithFactors } from '../two-factor/factors/factor.js';
import { keySignin, keySigninOptions, verifyOptions, verifyWithKey } from './key-signin.service.js';
import { beginRegistration, deleteKey, finishRegistration, listKeys } from './register.service.js';

export type WebauthnRouteDeps = TfDeps & WithFactors & CompleteDeps;

/**
 * Security keys (README "Security keys"; openapi.yaml, tag WebAuthn): Flask-Security's
 * /wan-* endpoints, registered when SECURITY_WEBAUTHN is on. Registering and deleting a key
 * need a fresh sign-in (SECURITY_FRESHNESS), as /tf-setup does.
 */
export async function webauthnRoutes(app: FastifyInstance, deps: WebauthnRouteDeps): Promise<void> {
  app.get('/wan-register', async (request) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    return { user: publicUser(auth.user), registered_credentials: await listKeys(deps, auth.user.id) };
  });

  app.post('/wan-register', async (request) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    const body = readBody(request.body);
    const name = body.optionalString('name', { max: 256 });
    const usage = body.optionalString('usage', { max: 16 });
    if (name === undefined && body.raw('name') === undefined) body.fail('name', 'WEBAUTHN_NAME_REQUIRED');
    body.done();
    return beginRegistration(deps, auth.user, { name: name ?? '', usage });
  });

  app.post<{ Params: { wan_state: string } }>('/wan-register/:wan_state', async (request) => {
    const auth = requireAuth(request);
    const credential = readBody(request.body).raw('credential');
    await finishRegistration(deps, auth.user, request.params.wan_state, credential, auditContext(request));
    return { user: publicUser(auth.user) };
  });

  app.post('/wan-delete', async (request) => {
    const auth = requireFresh(request, deps.config, deps.clock);
    const body = readBody(request.body);
    const name = body.optionalString('name', { max: 256 });
    if (name === undefined && body.raw('name') === undefined) body.fail('name', 'WEBAUTHN_NAME_REQUIRED');
    body.done();
    await deleteKey(deps, auth.user, name ?? '', auditContext(request));
    return { user: publicUser(auth.user) };
  });

  app.post('/wan-signin', async (request) => {
    if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
    return keySigninOptions(deps, callerOf(request));
  });

  app.post<{ Params: { wan_state: string } }>('/wan-signin/:wan_state', async (request, reply) => {
    if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
    const credential = readBody(request.body).raw('credential');
    const outcome = await keySignin(deps, callerOf(request), request.params.wan_state, credential);
    return { ...(await applyStepOutcome(deps, request, reply, outcome)), tf_required: false };
  });

  app.post('/wan-verify', async (request) => {
    const auth = requireAuth(request);
    return verifyOptions(deps, auth.user.id);
  });

  app.post<{ Params: { wan_state: string } }>('/wan-verify/:wan_state', async (request, reply) => {
    const auth = requireAuth(request);
    const caller = callerOf(request);
    await verifyWithKey(
      deps,
      { ...caller, auth: caller.auth! },
      request.params.wan_state,
      readBody(request.body).raw('credential'),
    );
    // Fresh from now on, as after /verify with the password.
    const now = deps.clock.now();
    if (auth.via === 'session') request.session.authAt = now.getTime();
    // As /verify: the same sign-in, fresh from now (its tokens stay revocable with it).
    const grant = { ...grantOf(auth), authAt: now };
    const token = wantsAuthToken(request.query) ? await authTokenFor(deps, auth.user, grant, reply) : undefined;
    return { user: publicUser(auth.user, token) };
  });
}
