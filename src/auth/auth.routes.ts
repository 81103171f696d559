import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../caller.js';
import { callerOf } from '../http/caller.js';
import type { User } from '../users/users.repository.js';
import { auditContext } from '../audit/audit.js';
import { AppError } from '../errors.js';
import { requireAuth } from '../http/auth-context.js';
import { readBody, wantsAuthToken } from '../http/input.js';
import { endSession, SESSION_COOKIE } from '../http/session.js';
import { PASSWORD_MAX_LENGTH } from '../users/passwords.js';
import { changePassword, checkCredentials, reauthenticate, register, type AuthDeps } from './auth.service.js';
import { authTokenFor, completeSignIn, establishSession, grantOf, publicUser, type CompleteDeps } from './signin.js';
import { meAnswer, readMaxAge } from './me.service.js';
import { refreshTokenPresented, clearRefreshCookie } from '../refresh/refresh.routes.js';
import { revokeOnSignOut } from '../refresh/signout.service.js';
import type { AfterPassword } from './after-password.js';

export type AuthRouteDeps = AuthDeps & CompleteDeps & { afterPassword: AfterPassword };

const EMAIL_MAX = 320;

export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { config, clock } = deps;

  /** The password passed: signed in at once (tf_required false), or the pending second factor's answer. */
  const afterPassword = async (
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    user: User,
    remember: boolean,
  ): Promise<Record<string, unknown>> => {
    const outcome = await deps.afterPassword.proceed(caller, user, { remember });
    if (outcome.kind === 'pending') return outcome.answer;
    const includeToken = wantsAuthToken(request.query);
    const done = await completeSignIn(deps, request, reply, user, { remember, methods: outcome.methods, includeToken });
    return { ...done, tf_required: false, ...outcome.extra };
  };

  // SECURITY_US_SIGNIN_REPLACES_LOGIN: /login is unified sign-in's instead (unified-signin/us.routes.ts).
  const passwordLogin = config.SECURITY_US_SIGNIN_REPLACES_LOGIN ? null : app;

  passwordLogin?.get('/login', async (request) => {
    const auth = request.auth;
    return auth ? { identity_attributes: ['email'], user: publicUser(auth.user) } : { identity_attributes: ['email'] };
  });

  passwordLogin?.post('/login', { config: { csrfExempt: true } }, async (request, reply) => {
    if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
    const body = readBody(request.body);
    const email = body.string('email', { max: EMAIL_MAX });
    const password = body.string('password', { max: PASSWORD_MAX_LENGTH });
    const remember = body.boolean('remember');
    body.done();
    // A failed sign-in discards any earlier pending state; a successful one replaces it
    // in proceed(), except when the code-send limit refuses (the earlier code stays valid).
    const caller = callerOf(request);
    const user = await checkCredentials(deps, email, password, caller.audit).catch(async (err: unknown) => {
      await deps.afterPassword.discardPending(caller);
      throw err;
    });
    return afterPassword(request, reply, caller, user, remember);
  });

  if (config.SECURITY_REGISTERABLE) {
    app.post('/register', { config: { csrfExempt: true } }, async (request, reply) => {
      if (request.auth) throw new AppError('ANONYMOUS_USER_REQUIRED');
      const body = readBody(request.body);
      const email = body.string('email', { max: EMAIL_MAX });
      const password = body.string('password', { max: PASSWORD_MAX_LENGTH + 1 });
      const remember = body.boolean('remember');
      body.done();
      const caller = callerOf(request);
      await deps.afterPassword.discardPending(caller);
      const user = await register(deps, email, password, caller.audit);
      return afterPassword(request, reply, caller, user, remember);
    });
  }

  app.post('/logout', { config: { noCsrfToken: true } }, async (request, reply) => {
    const signout =
      request.auth?.via === 'session' ? deps.audit.row('signout', request.auth.user.id, auditContext(request)) : null;
    // The sign-in's tokens first (docs/backend-services.md): once this answers, none of them works anywhere.
    const refresh = refreshTokenPresented(request, config);
    const issued = request.auth?.via === 'token' || request.session.tokensIssued === true;
    await revokeOnSignOut(deps, issued ? request.auth : null, refresh.token);
    if (refresh.fromCookie) clearRefreshCookie(reply, config);
    const cookie = Boolean(request.cookies[SESSION_COOKIE]);
    // One statement deletes the session and writes the signout row.
    if (cookie || signout) await endSession(request, signout);
    if (cookie) reply.clearCookie(SESSION_COOKIE, { path: '/' });
    if (signout) deps.audit.logged(signout);
    return {};
  });

  app.post('/verify', async (request, reply) => {
    const auth = requireAuth(request);
    const body = readBody(request.body);
    const password = body.string('password', { max: PASSWORD_MAX_LENGTH });
    body.done();
    await reauthenticate(deps, auth.user.id, password, auditContext(request));
    const now = clock.now();
    if (auth.via === 'session') request.session.authAt = now.getTime();
    const grant = { ...grantOf(auth), authAt: now };
    const token = wantsAuthToken(request.query) ? await authTokenFor(deps, auth.user, grant, reply) : undefined;
    return { user: publicUser(auth.user, token) };
  });

  app.post('/change', async (request, reply) => {
    const auth = requireAuth(request);
    const body = readBody(request.body);
    const password = body.string('password', { max: PASSWORD_MAX_LENGTH });
    const newPassword = body.string('new_password', { max: PASSWORD_MAX_LENGTH + 1 });
    body.done();
    const fsu = await changePassword(deps, auth.user.id, password, newPassword, auditContext(request));
    const user = { ...auth.user, fs_uniquifier: fsu };
    // The caller stays signed in, on a new session id bound to the new fs_uniquifier.
    const grant = await establishSession(request, deps, user, {
      remember: request.session.remember === true,
      methods: auth.authnMethods,
    });
    const wanted = wantsAuthToken(request.query) || auth.via === 'token';
    const token = wanted ? await authTokenFor(deps, user, grant, reply) : undefined;
    return { user: publicUser(user, token) };
  });

  // docs/backend-services.md: who the caller is, how strongly, and since when; `?max_age=` for step-up checks.
  app.get('/me', async (request) => {
    const auth = requireAuth(request);
    const maxAge = readMaxAge(request.query);
    return { user: publicUser(auth.user), ...(await meAnswer(deps, auth, maxAge)) };
  });
}
