import type { TfaClient } from '../client.js';
import { TfaUsageError } from '../errors.js';
import type { SecondFactorMethod, SetupInfo, User } from './types.js';

export interface SetupChoice {
  method: SecondFactorMethod;
  /** Required for `sms`; any format the service can read as E.164. */
  phone?: string;
}

/** What the user needs to finish a setup: for an authenticator, the QR code and key. */
export interface SetupChallenge {
  method: SecondFactorMethod;
  phone?: string;
  /** For a signed-in user's change (path 2); null during a sign-in (path 3). */
  stateToken: string | null;
  authenticator?: {
    /** A `data:` URL of the QR code image; put it in an `<img src>`. */
    qrCode: string;
    /** The `otpauth://` URI the QR code encodes. */
    uri: string;
    /** The secret in groups of four, for typing into an app. */
    key: string;
    issuer: string;
    username: string;
  };
}

/** GET /tf-setup: the current method and the ones to choose from (signed in and fresh, or a sign-in that must set up). */
export function setupInfo(client: TfaClient): Promise<SetupInfo> {
  return client.call('get', '/tf-setup');
}

/**
 * POST /tf-setup: starts setting up `method` (required setup at first sign-in,
 * or a change by a signed-in user). For email/sms a code is sent now. Nothing
 * changes for the user until `confirmSetup`.
 */
export async function beginSetup(client: TfaClient, choice: SetupChoice): Promise<SetupChallenge> {
  const body = choice.phone === undefined ? { setup: choice.method } : { setup: choice.method, phone: choice.phone };
  const answer = await client.call('post', '/tf-setup', { body });
  if (!('tf_state' in answer)) throw new TfaUsageError('The service answered a setup with a disable.');
  const challenge: SetupChallenge = {
    method: answer.tf_method,
    phone: choice.phone,
    stateToken: answer.tf_state_token,
  };
  if ('tf_authr_qrcode' in answer) {
    challenge.authenticator = {
      qrCode: answer.tf_authr_qrcode,
      uri: answer.tf_authr_uri,
      key: answer.tf_authr_key,
      issuer: answer.tf_authr_issuer,
      username: answer.tf_authr_username,
    };
  }
  return challenge;
}

/**
 * Confirms a setup with the code the user got or the app shows. A signed-in
 * change goes to POST /tf-setup/{tf_state_token}; a setup at sign-in to
 * POST /tf-validate, which also signs the user in.
 */
export async function confirmSetup(client: TfaClient, challenge: SetupChallenge, code: string): Promise<User> {
  if (challenge.stateToken === null) {
    const answer = await client.call('post', '/tf-validate', {
      body: { code: code.trim() },
      query: client.signInQuery(),
    });
    return answer.user;
  }
  const answer = await client.call('post', '/tf-setup/{tf_state_token}', {
    params: { tf_state_token: challenge.stateToken },
    body: { code: code.trim() },
  });
  return answer.user;
}

/** A new code for an e-mail or SMS setup: the setup is started again with the same choice (and so a new code sent). */
export function resendSetupCode(client: TfaClient, challenge: SetupChallenge): Promise<SetupChallenge> {
  if (challenge.method === 'authenticator')
    throw new TfaUsageError('An authenticator code is not sent: use the code the app shows.');
  return beginSetup(client, { method: challenge.method, phone: challenge.phone });
}

/** POST /tf-setup {setup: "disable"}: only when 2FA is optional for this user (else `TWO_FACTOR_METHOD_NOT_AVAILABLE`). */
export async function disableSecondFactor(client: TfaClient): Promise<void> {
  await client.call('post', '/tf-setup', { body: { setup: 'disable' } });
}
