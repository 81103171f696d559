import type { AfterPassword } from '../auth/after-password.js';
import type { Caller } from '../caller.js';
import { deviceSkipsSecondFactor } from '../devices/devices.service.js';
import { graceSignIn, policyOf } from '../policy/policy.service.js';
import type { User } from '../users/users.repository.js';
import type { TfDeps } from './deps.js';
import { askAnswer, heldFactors, type WithFactors } from './factors/factor.js';
import { startPending, wipePending } from './pending.js';

/**
 * The password was right; now the second factor (openapi.yaml, /login):
 * a remembered device signs in at once; a user with a method gets a pending
 * sign-in in state `ready` (and the factor's challenge, e.g. a code); a user
 * with two (a code method and security keys) picks one first (state `select`,
 * /tf-select); a user without one gets `setup_from_login` when the policy
 * requires 2FA (src/policy/two-factor-policy.ts), else is signed in, told so
 * while a grace period lets a required user in without a factor.
 */
export function twoFactorLogin(deps: TfDeps & WithFactors): AfterPassword {
  return {
    discardPending: (caller) => wipePending(deps, caller),
    async proceed(caller, user, { remember, firstFactor }) {
      const held = await heldFactors(deps, deps.factors, user);
      const factor = held[0];
      if (!factor) {
        const policy = await policyOf(deps, user);
        const graceUntil = policy.required ? await graceSignIn(deps, user, policy) : null;
        if (!policy.required || graceUntil) {
          await wipePending(deps, caller);
          const extra = graceUntil ? { tf_setup_required: true, tf_grace_until: graceUntil.toISOString() } : undefined;
          return { kind: 'signed-in', user, methods: ['password'], extra };
        }
        await beginPending(deps, caller, user, 'setup_from_login', remember, firstFactor);
        deps.metrics.signIn('pending_second_factor');
        return { kind: 'pending', answer: { tf_required: true, tf_state: 'setup_from_login' } };
      }
      if (await deviceSkipsSecondFactor(deps, caller, user)) {
        await wipePending(deps, caller);
        return { kind: 'signed-in', user, methods: ['password', 'remembered_device'] };
      }
      if (held.length > 1) {
        // Flask-Security's answer for two factors: the client picks one at /tf-select.
        await beginPending(deps, caller, user, 'select', remember, firstFactor);
        deps.metrics.signIn('pending_second_factor');
        return {
          kind: 'pending',
          answer: { tf_required: true, tf_select: true, tf_setup_methods: held.map((f) => f.id) },
        };
      }
      // Limits first: over the send limit nothing changes, the earlier pending sign-in and its code stay valid.
      const challenge = await factor.challenge(deps, user, null, caller.audit);
      const pending = await beginPending(deps, caller, user, 'ready', remember, firstFactor);
      await challenge?.issue(pending, 'signin', caller.audit);
      deps.metrics.signIn('pending_second_factor');
      return { kind: 'pending', answer: askAnswer(factor, user) };
    },
  };
}

/** First factor passed: a privilege change, so the session id rotates (dropping any old pending state). */
async function beginPending(
  deps: TfDeps,
  caller: Caller,
  user: User,
  state: 'ready' | 'setup_from_login' | 'select',
  remember: boolean,
  firstFactor: string | undefined,
): Promise<string> {
  await wipePending(deps, caller);
  await caller.rotateSession();
  const pending = await startPending(deps, caller, user, { kind: 'signin', state, remember, firstFactor });
  return pending.id;
}
