import type { FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { completeSignIn, type AfterPassword } from '../auth/after-password.js';
import type { SignInDeps } from '../auth/signin.js';
import { deviceSkipsSecondFactor } from '../devices/devices.service.js';
import { rotateSession } from '../http/session.js';
import type { User } from '../users/users.repository.js';
import { deliverCode, reserveSend, type Channel } from './factors/send-code.js';
import type { TfDeps } from './deps.js';
import { startPending, wipePending } from './pending.js';

export type LoginDeps = TfDeps & SignInDeps;

/** Where a user's sign-in code goes, for the methods that send one. */
export function codeDestination(
  user: Pick<User, 'email' | 'tf_phone_number'>,
  method: string,
): { channel: Channel; destination: string } | null {
  if (method === 'email') return { channel: 'email', destination: user.email };
  if (method === 'sms' && user.tf_phone_number) return { channel: 'sms', destination: user.tf_phone_number };
  return null;
}

/**
 * The password was right; now the second factor (SPEC §3 /login):
 * a remembered device signs in at once; a user with a method gets a pending
 * sign-in in state `ready` (and a code, for e-mail and SMS); a user without
 * one gets `setup_from_login` when 2FA is required, else is signed in.
 */
export function twoFactorLogin(deps: LoginDeps): AfterPassword {
  return {
    discardPending: (request) => wipePending(deps, request),
    async proceed(request, user, opts) {
      const method = user.tf_primary_method;
      if (!method) {
        if (!deps.config.SECURITY_TWO_FACTOR_REQUIRED) {
          await wipePending(deps, request);
          return {
            ...(await completeSignIn(deps, request, user, { ...opts, methods: ['password'] })),
            tf_required: false,
          };
        }
        await beginPending(deps, request, user, 'setup_from_login', opts.remember);
        deps.metrics.signIn('pending_second_factor');
        return { tf_required: true, tf_state: 'setup_from_login' };
      }
      if (await deviceSkipsSecondFactor(deps, request, user)) {
        await wipePending(deps, request);
        return {
          ...(await completeSignIn(deps, request, user, { ...opts, methods: ['password', 'remembered_device'] })),
          tf_required: false,
        };
      }
      const target = codeDestination(user, method);
      // Over the send limit nothing changes: the earlier pending sign-in and its code stay valid (SPEC §4.2).
      const sendId = target ? await reserveSend(deps, user.id, target.channel, target.destination) : undefined;
      const pending = await beginPending(deps, request, user, 'ready', opts.remember);
      if (target && sendId !== undefined) {
        await deliverCode(
          deps,
          { pendingId: pending, userId: user.id, purpose: 'signin', ...target },
          sendId,
          auditContext(request),
        );
      }
      deps.metrics.signIn('pending_second_factor');
      return { tf_required: true, tf_state: 'ready', tf_primary_method: method, tf_method: method };
    },
  };
}

/** First factor passed: a privilege change, so the session id rotates (dropping any old pending state). */
async function beginPending(
  deps: LoginDeps,
  request: FastifyRequest,
  user: User,
  state: 'ready' | 'setup_from_login',
  remember: boolean,
): Promise<string> {
  await wipePending(deps, request);
  await rotateSession(request);
  const pending = await startPending(deps, request, user, { kind: 'signin', state, remember });
  return pending.id;
}
