import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authTokenFor, completeSignIn, grantOf, publicUser, type CompleteDeps } from '../auth/signin.js';
import type { Caller } from '../caller.js';
import { AppError } from '../errors.js';
import { requireAuth, requireFresh } from '../http/auth-context.js';
import { callerOf } from '../http/caller.js';
import { readBody, wantsAuthToken, type BodyReader } from '../http/input.js';
import { normalizeCodeInput } from '../two-factor/factors/otp-code.js';
import { PASSWORD_MAX_LENGTH } from '../users/passwords.js';
import { findUserByEmail, findUserById } from '../users/users.repository.js';
import type { UsDeps } from './deps.js';
import { activeMethods, codeMethods, enabledMethods } from './methods.js';
import { beginUsSetup, confirmUsSetupStep, usSetupInfo } from './setup.service.js';
import { usSendCode, usSignIn, usVerify } from './signin.service.js';
import { findUsMethods } from './us.repository.js';

export type UsRouteDeps = UsDeps & CompleteDeps;

const IDENTITY_MAX = 320;

/** A passcode is a password or a code; a code may come as a JSON number (openapi.yaml, UsSignin). */
function passcodeOf(body: BodyReader): string {
  const raw = body.raw('passcode');
  // 12345 means the code "012345", as at /tf-validate (two-factor/factors/otp-code.ts).
  if (typeof raw === 'number' && Number.isFinite(raw)) return normalizeCodeInput(raw) ?? String(raw);
  return body.string('passcode', { max: PASSWORD_MAX_LENGTH });
}

function signedIn(request: FastifyRequest): Caller & { auth: NonNullable<Caller['auth']> } {
  requireAuth(request);
  const caller = callerOf(request);
  return { ...caller, auth: caller.auth! };
}

/**
 * Unified sign-in (openapi.yaml tag "Unified sign-in", README "Unified sign-in"):
 * registered only with SECURITY_UNIFIED_SIGNIN. With
 * SECURITY_US_SIGNIN_REPLACES_LOGIN, /login answers as /us-signin (auth.routes.ts
 * then leaves /login alone).
 */
export async function unifiedSigninRoutes(app: FastifyInstance, deps: UsRouteDeps): Promise<void> {
  const { config } = deps;
  if (!config.SECURITY_UNIFIED_SIGNIN) return;
  const signinPaths = config.SECURITY_US_SIGNIN_REPLACES_LOGIN ? ['/us-signin', '/login'] : ['/us-signin'];

  for (const path of signinPaths) {
    app.get(path, async (request) => {
      const info = {
        available_methods: [...enabledMethods(config)],
        code_methods: codeMethods(config),
        identity_attributes: ['email'],
      };
      return request.auth ? { ...info, user: publicUser(request.auth.user) } : info;
    });

    // Anonymous, as /login: no session to forge a request for; the Origin check still applies.
    app.post(path, { config: { csrfExempt: true } }, async (request, reply) => {
      if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
      const body = readBody(request.body);
      const identity = body.string('identity', { max: IDENTITY_MAX });
      const passcode = passcodeOf(body);
      const remember = body.boolean('remember');
      body.done();
      const outcome = await usSignIn(deps, callerOf(request), { identity, passcode, remember });
      if (outcome.kind === 'pending') return outcome.answer;
      const includeToken = wantsAuthToken(request.query);
      const done = await completeSignIn(deps, request, reply, outcome.user, {
        remember,
        methods: outcome.methods,
        includeToken,
      });
      return { ...done, tf_required: false };
    });
  }

  app.post('/us-signin/send-code', { config: { csrfExempt: true } }, async (request) => {
    if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
    const body = readBody(request.body);
    const identity = body.string('identity', { max: IDENTITY_MAX });
    const chosenMethod = body.string('chosen_method', { max: 32 });
    body.done();
    const user = () => findUserByEmail(deps.db, identity);
    await usSendCode(deps, callerOf(request), { chosenMethod, kind: 'us_signin', user });
    return {};
  });

  app.get('/us-verify', async (request) => {
    const caller = signedIn(request);
    const rows = await findUsMethods(deps.db, caller.auth.userId);
    const active = new Set<string>(activeMethods(config, rows));
    return {
      available_methods: [...enabledMethods(config)],
      code_methods: codeMethods(config).filter((m) => active.has(m)),
      // Neither WebAuthn nor OAuth sign-in exists in this service (yet): Flask-Security's fields, answered truly.
      has_webauthn_verify_credential: false,
      oauth_enabled: false,
      oauth_providers: [],
    };
  });

  app.post('/us-verify', async (request, reply) => {
    const caller = signedIn(request);
    const body = readBody(request.body);
    const passcode = passcodeOf(body);
    body.done();
    await usVerify(deps, caller, passcode);
    const auth = request.auth!;
    const now = deps.clock.now();
    if (auth.via === 'session') request.session.authAt = now.getTime();
    // As /verify: the same sign-in, fresh from now (its tokens stay revocable with it).
    const grant = { ...grantOf(auth), authAt: now };
    const token = wantsAuthToken(request.query) ? await authTokenFor(deps, auth.user, grant, reply) : undefined;
    return { user: publicUser(auth.user, token) };
  });

  app.post('/us-verify/send-code', async (request) => {
    const caller = signedIn(request);
    const body = readBody(request.body);
    const chosenMethod = body.string('chosen_method', { max: 32 });
    body.done();
    const user = () => findUserById(deps.db, caller.auth.userId);
    await usSendCode(deps, caller, { chosenMethod, kind: 'us_verify', user });
    return {};
  });

  /** /us-setup needs a fresh sign-in (README, SECURITY_FRESHNESS), as /tf-setup does. */
  const setupCaller = (request: FastifyRequest) => {
    requireFresh(request, config, deps.clock);
    return signedIn(request);
  };

  app.get('/us-setup', async (request) => usSetupInfo(deps, setupCaller(request)));

  app.post('/us-setup', async (request) => {
    const body = readBody(request.body);
    const chosenMethod = body.optionalString('chosen_method', { max: 32 });
    const phone = body.optionalString('phone', { max: 64 });
    const deleteMethods = deleteMethodsOf(body);
    body.done();
    return beginUsSetup(deps, setupCaller(request), { chosenMethod, deleteMethods, phone });
  });

  app.post<{ Params: { token: string } }>('/us-setup/:token', async (request) => {
    const caller = signedIn(request);
    const body = readBody(request.body);
    const passcode = passcodeOf(body);
    body.done();
    return confirmUsSetupStep(deps, caller, request.params.token, passcode);
  });
}

/** `delete_method`: one method or a list (Flask-Security's form sends a list). */
function deleteMethodsOf(body: BodyReader): string[] | undefined {
  const raw = body.raw('delete_method');
  if (raw === undefined || raw === null) return undefined;
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length > 8 || !list.every((m) => typeof m === 'string' && m.length <= 32)) {
    body.fail('delete_method', 'API_ERROR');
    return undefined;
  }
  return list as string[];
}
