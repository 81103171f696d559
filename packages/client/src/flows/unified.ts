import type { TfaClient } from '../client.js';
import { TfaUsageError } from '../errors.js';
import { afterFirstFactor } from './first-factor.js';
import type { SetupChallenge } from './setup.js';
import type { SignInResult } from './sign-in.js';
import type { Schemas, SecondFactorMethod, User } from './types.js';

/**
 * Unified sign-in (`SECURITY_UNIFIED_SIGNIN=true` on the service; openapi.yaml,
 * tag "Unified sign-in"): an identity and one passcode, which is the password
 * or a code of a method the user set up for signing in.
 */
export type UnifiedMethod = Schemas['UsMethod'];

export interface UnifiedSignInOptions {
  /** `SECURITY_US_ENABLED_METHODS`: what a passcode may be. */
  methods: UnifiedMethod[];
  /** The methods whose code the service sends (`sendSignInCode`). */
  codeMethods: UnifiedMethod[];
}

/** GET /us-signin: what the sign-in form may offer. */
export async function unifiedSignInOptions(client: TfaClient): Promise<UnifiedSignInOptions> {
  const answer = await client.call('get', '/us-signin');
  return { methods: answer.available_methods, codeMethods: answer.code_methods };
}

/**
 * POST /us-signin/send-code: an e-mail or SMS code for signing in, kept on this
 * session, so `signInWithPasscode` must go through the same client (cookie).
 * An identity without that method: `US_METHOD_NOT_AVAILABLE` (unknown ones too,
 * unless the service answers generically).
 */
export async function sendSignInCode(client: TfaClient, identity: string, method: 'email' | 'sms'): Promise<void> {
  await client.call('post', '/us-signin/send-code', { body: { identity, chosen_method: method } });
}

export interface PasscodeSignIn {
  identity: string;
  /** The password, or the 6-digit code of an e-mail, SMS or authenticator method. */
  passcode: string;
  remember?: boolean;
}

/**
 * POST /us-signin. Answers as `signIn`: a passcode method in
 * `SECURITY_US_MFA_REQUIRED` (the password and e-mail codes by default) still
 * asks for the second factor (`code-required`, then `submitCode`). A wrong
 * passcode or unknown identity: `INVALID_PASSWORD_CODE`.
 */
export async function signInWithPasscode(client: TfaClient, signIn: PasscodeSignIn): Promise<SignInResult> {
  const { identity, passcode, remember = false } = signIn;
  const answer = await client.call('post', '/us-signin', {
    body: { identity, passcode: passcode.trim(), remember },
    query: client.signInQuery(),
  });
  return afterFirstFactor(client, answer);
}

export interface UnifiedMethods {
  /** Set up for signing in (always `password`). */
  active: UnifiedMethod[];
  /** What `beginUnifiedSetup` may add or change. */
  available: UnifiedMethod[];
  /** The SMS method's number, or null. */
  phone: string | null;
}

/** GET /us-setup (signed in, fresh session): the user's sign-in methods. */
export async function unifiedMethods(client: TfaClient): Promise<UnifiedMethods> {
  const answer = await client.call('get', '/us-setup');
  return { active: answer.active_methods, available: answer.setup_methods, phone: answer.phone };
}

/** A sign-in method being added: confirm it with `confirmUnifiedSetup`. */
export interface UnifiedSetupChallenge {
  method: SecondFactorMethod;
  phone: string | null;
  /** For POST /us-setup/{token}; valid SECURITY_US_SETUP_WITHIN. */
  state: string;
  /** For an authenticator: what the user scans or types, as in a second factor's setup. */
  authenticator?: SetupChallenge['authenticator'];
}

/**
 * POST /us-setup: starts adding a method for signing in (signed in, fresh
 * session). E-mail and SMS get a code now; an authenticator gets its key and
 * QR code. Nothing is stored until `confirmUnifiedSetup`.
 */
export async function beginUnifiedSetup(
  client: TfaClient,
  choice: { method: SecondFactorMethod; phone?: string },
): Promise<UnifiedSetupChallenge> {
  const body =
    choice.phone === undefined
      ? { chosen_method: choice.method }
      : { chosen_method: choice.method, phone: choice.phone };
  const answer = await client.call('post', '/us-setup', { body });
  if (answer.state === undefined || answer.chosen_method === undefined)
    throw new TfaUsageError('The service answered a setup without a state to confirm it with.');
  const challenge: UnifiedSetupChallenge = {
    method: answer.chosen_method,
    phone: answer.phone ?? null,
    state: answer.state,
  };
  if (answer.authr_qrcode !== undefined) {
    challenge.authenticator = {
      qrCode: answer.authr_qrcode,
      uri: answer.authr_uri!,
      key: answer.authr_key!,
      issuer: answer.authr_issuer!,
      username: answer.authr_username!,
    };
  }
  return challenge;
}

/** POST /us-setup/{token}: the code that proves the new method; it is then stored. Wrong code: `INVALID_PASSWORD_CODE`. */
export async function confirmUnifiedSetup(
  client: TfaClient,
  challenge: UnifiedSetupChallenge,
  passcode: string,
): Promise<{ method: UnifiedSetupChallenge['method']; phone: string | null }> {
  const answer = await client.call('post', '/us-setup/{token}', {
    params: { token: challenge.state },
    body: { passcode: passcode.trim() },
  });
  return { method: answer.chosen_method, phone: answer.phone };
}

/** POST /us-setup {delete_method}: removes sign-in methods at once (never the password). */
export async function removeUnifiedMethods(client: TfaClient, methods: UnifiedMethod[]): Promise<void> {
  await client.call('post', '/us-setup', { body: { delete_method: methods } });
}

/** What a signed-in user may reauthenticate with (GET /us-verify). */
export interface ReauthenticationOptions {
  /** `SECURITY_US_ENABLED_METHODS`. */
  methods: UnifiedMethod[];
  /** The user's set-up methods whose code the service sends (`sendReauthenticationCode`). */
  codeMethods: UnifiedMethod[];
}

/** GET /us-verify: the methods this user may regain freshness with. */
export async function reauthenticationOptions(client: TfaClient): Promise<ReauthenticationOptions> {
  const answer = await client.call('get', '/us-verify');
  return { methods: answer.available_methods, codeMethods: answer.code_methods };
}

/** POST /us-verify/send-code: an e-mail or SMS code for `reauthenticateWithPasscode`, kept on this session. */
export async function sendReauthenticationCode(client: TfaClient, method: 'email' | 'sms'): Promise<void> {
  await client.call('post', '/us-verify/send-code', { body: { chosen_method: method } });
}

/**
 * POST /us-verify: the password or a code of a sign-in method, when a call
 * answered 401 with `reauthRequired`; freshness restarts, as with
 * `reauthenticate`. Wrong: `INVALID_PASSWORD_CODE`.
 */
export async function reauthenticateWithPasscode(client: TfaClient, passcode: string): Promise<User> {
  const answer = await client.call('post', '/us-verify', {
    body: { passcode: passcode.trim() },
    query: client.signInQuery(),
  });
  return answer.user;
}
