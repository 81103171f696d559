import { secretAad } from '../../crypto/secret-box.js';
import type { TfDeps } from '../deps.js';
import { enrolled, type Factor } from './factor.js';
import { qrSvgDataUri } from './qrcode.js';
import { checkTotp, formatAuthrKey, generateTotpSecret, otpauthUri } from './totp.js';

/**
 * An authenticator app (RFC 6238 TOTP). The secret is made at setup, shown once
 * as a key and a QR code, and kept encrypted; no challenge is sent. A code is
 * accepted once per time step: verify() refuses steps at or before the last
 * accepted one, and confirmed() compares-and-sets the new step in the statement
 * that completes the sign-in, so two requests with one code cannot both pass
 * (README "Abuse resistance").
 */
export const authenticator: Factor = {
  id: 'authenticator',

  async enrol(deps, user) {
    const secret = generateTotpSecret();
    return {
      enrolment: { secret: deps.box.encrypt(secret, secretAad(user.id)), phone: null },
      answer: await keyFields(deps, user.email, secret),
    };
  },

  async challenge() {
    return null;
  },

  async verify(deps, proof, { user, enrolment, now }) {
    const box = enrolment ? enrolment.secret : user.tf_totp_secret;
    if (proof.kind !== 'code' || proof.code === null || !box) return { ok: false };
    const secret = deps.box.decrypt(box, secretAad(user.id));
    const windowSeconds = deps.config.SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY;
    // A new secret being set up has no history to replay.
    const afterTimeStep = enrolment ? null : user.tf_totp_last_step;
    const result = checkTotp({ secret, code: proof.code, now, windowSeconds, afterTimeStep });
    if (result.ok) return { ok: true, factor: 'authenticator', totpStep: result.timeStep };
    // Right, but for a step accepted already: a replay, refused, though not a guess.
    if (result.replay) return { ok: false, replay: true };
    return { ok: false };
  },

  confirmed({ enrolment }, verdict) {
    const step = verdict.totpStep ?? null;
    if (enrolment) return { changes: enrolled('authenticator', { secret: enrolment.secret, totpStep: step }) };
    // A passed rescue code (no step) leaves the step alone.
    return step === null ? { changes: {} } : { changes: { tf_totp_last_step: step }, afterStep: step };
  },
};

/** The setup answer's tf_authr_* fields: the key for typing, the URI and its QR code for scanning. */
async function keyFields(deps: TfDeps, username: string, secret: string): Promise<Record<string, unknown>> {
  const issuer = deps.config.SECURITY_TOTP_ISSUER;
  const uri = otpauthUri({ issuer, username, secret });
  return {
    tf_authr_key: formatAuthrKey(secret),
    tf_authr_b32key: secret,
    tf_authr_issuer: issuer,
    tf_authr_username: username,
    tf_authr_uri: uri,
    tf_authr_qrcode: await qrSvgDataUri(uri),
  };
}
