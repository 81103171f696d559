import { AppError, ValidationError } from '../../errors.js';
import { auditOf, liveChallenge, readAssertion } from './wan-ceremony.js';
import { checkAssertion } from './wan-assertion.js';
import type { Factor } from './factor.js';
import { holdsKey } from './webauthn.repository.js';

/**
 * Security keys and passkeys (WebAuthn) as a second factor (README "Security keys").
 * A user holds them apart from tf_primary_method: they are registered at /wan-register,
 * not set up at /tf-setup, and /login asks for one when the user has any. The proof is an
 * assertion over a challenge that POST /wan-signin stored for the pending sign-in, sent to
 * POST /wan-signin/{wan_state}, which charges it like a code.
 */
export const webauthn: Factor = {
  id: 'webauthn',
  proofKind: 'assertion',
  askFields: { tf_signin_url: '/wan-signin' },

  async held(deps, user) {
    return deps.config.SECURITY_WEBAUTHN && (await holdsKey(deps.db, user.id));
  },

  async enrol() {
    // Not a /tf-setup method (never in SECURITY_TWO_FACTOR_ENABLED_METHODS): keys are registered at /wan-register.
    throw new ValidationError([{ field: 'setup', key: 'TWO_FACTOR_METHOD_NOT_AVAILABLE' }]);
  },

  async challenge() {
    // The challenge is asked for by POST /wan-signin once the pending row exists.
    return null;
  },

  async verify(deps, proof, attempt) {
    if (proof.kind !== 'assertion' || attempt.enrolment || !deps.config.SECURITY_WEBAUTHN) return { ok: false };
    const scope = {
      purpose: 'signin' as const,
      userId: attempt.user.id,
      pendingId: attempt.pending.id,
      within: deps.config.SECURITY_WAN_SIGNIN_WITHIN,
    };
    const challenge = await liveChallenge(deps, proof.state, scope).catch(() => null);
    // Sane a moment ago (keySignin checked it), used now: a concurrent twin of this request took it.
    if (!challenge) return { ok: false, replay: true, refusal: new AppError('API_ERROR') };
    const response = readAssertion(proof.credential);
    const check = await checkAssertion(deps, {
      userId: attempt.user.id,
      response,
      challenge,
      audit: auditOf(attempt.audit),
    });
    if (check.ok) return { ok: true, factor: 'webauthn' };
    return { ok: false, replay: check.replay === true, refusal: check.refusal };
  },

  confirmed() {
    // The key's counter and last use were written by the check; nothing changes on the user.
    return { changes: {} };
  },
};
