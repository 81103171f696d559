import type { AfterPassword } from '../auth/after-password.js';
import type { Caller } from '../caller.js';
import { deviceSkipsSecondFactor } from '../devices/devices.service.js';
import type { User } from '../users/users.repository.js';
import type { TfDeps } from './deps.js';
import { factorOf, type WithFactors } from './factors/factor.js';
import { startPending, wipePending } from './pending.js';

/**
 * The password was right; now the second factor (openapi.yaml, /login):
 * a remembered device signs in at once; a user with a method gets a pending
 * sign-in in state `ready` (and the factor's challenge, e.g. a code); a user
 * without one gets `setup_from_login` when 2FA is required, else is signed in.
 */
export function twoFactorLogin(deps: TfDeps & WithFactors): AfterPassword {
  return {
    discardPending: (caller) => wipePending(deps, caller),
    async proceed(caller, user, { remember, firstFactor }) {
      const method = user.tf_primary_method;
      if (!method) {
        if (!deps.config.SECURITY_TWO_FACTOR_REQUIRED) {
          await wipePending(deps, caller);
          return { kind: 'signed-in', user, methods: ['password'] };
        }
        await beginPending(deps, caller, user, 'setup_from_login', remember, firstFactor);
        deps.metrics.signIn('pending_second_factor');
        return { kind: 'pending', answer: { tf_required: true, tf_state: 'setup_from_login' } };
      }
      if (await deviceSkipsSecondFactor(deps, caller, user)) {
        await wipePending(deps, caller);
        return { kind: 'signed-in', user, methods: ['password', 'remembered_device'] };
      }
      // Limits first: over the send limit nothing changes, the earlier pending sign-in and its code stay valid.
      const challenge = await factorOf(deps.factors, method)?.challenge(deps, user, null, caller.audit);
      const pending = await beginPending(deps, caller, user, 'ready', remember, firstFactor);
      await challenge?.issue(pending, 'signin', caller.audit);
      deps.metrics.signIn('pending_second_factor');
      const answer = { tf_required: true, tf_state: 'ready', tf_primary_method: method, tf_method: method };
      return { kind: 'pending', answer };
    },
  };
}

/** First factor passed: a privilege change, so the session id rotates (dropping any old pending state). */
async function beginPending(
  deps: TfDeps,
  caller: Caller,
  user: User,
  state: 'ready' | 'setup_from_login',
  remember: boolean,
  firstFactor: string | undefined,
): Promise<string> {
  await wipePending(deps, caller);
  await caller.rotateSession();
  const pending = await startPending(deps, caller, user, { kind: 'signin', state, remember, firstFactor });
  return pending.id;
}
