import type { TfaClient } from '../client.js';
import { TfaUsageError } from '../errors.js';
import { afterFirstFactor } from './first-factor.js';
import type { Schemas, SecondFactorMethod, User } from './types.js';

export interface Credentials {
  email: string;
  password: string;
  /** Remember this device for SECURITY_TWO_FACTOR_LOGIN_VALIDITY, when the service allows it. */
  remember?: boolean;
}

/** Where the user stands after the password (openapi.yaml, The four two-factor paths). */
export type SignInResult =
  /** Done: no second factor, or a remembered device skipped it. */
  | { status: 'signed-in'; user: User }
  /** Path 1: enter the code of `method` (for email/sms it was just sent) with `submitCode`. */
  | { status: 'code-required'; method: SecondFactorMethod }
  /** Path 3: 2FA is required and the user has no method yet: `beginSetup` with one of `methods`. */
  | { status: 'setup-required'; methods: SecondFactorMethod[] }
  /**
   * Path 1 with a security key: the browser's WebAuthn ceremony, started at `signInUrl`
   * (POST /wan-signin for the options, then POST /wan-signin/{wan_state} with the assertion).
   */
  | { status: 'key-required'; signInUrl: string }
  /** The user holds a code method and security keys: `selectMethod` with one of `methods`. */
  | { status: 'select-required'; methods: SecondFactorChoice[] };

/** A second factor a sign-in can use: a code method or `webauthn` (a security key). */
export type SecondFactorChoice = Schemas['SecondFactor'];

/** POST /login. Wrong e-mail or password: TfaApiError `GENERIC_AUTHN_FAILED`. */
export async function signIn(client: TfaClient, credentials: Credentials): Promise<SignInResult> {
  const { email, password, remember = false } = credentials;
  const answer = await client.call('post', '/login', {
    body: { email, password, remember },
    query: client.signInQuery(),
  });
  return afterFirstFactor(client, answer);
}

/** POST /tf-select: which of the user's two second factors this sign-in uses; answers as `signIn`. */
export async function selectMethod(client: TfaClient, which: SecondFactorChoice): Promise<SignInResult> {
  const answer = await client.call('post', '/tf-select', { body: { which } });
  return afterFirstFactor(client, answer);
}

/** POST /register (when SECURITY_REGISTERABLE=true): creates the account and answers as `signIn`. */
export async function register(client: TfaClient, credentials: Omit<Credentials, 'remember'>): Promise<SignInResult> {
  const answer = await client.call('post', '/register', {
    body: { email: credentials.email, password: credentials.password },
    query: client.signInQuery(),
  });
  return afterFirstFactor(client, answer);
}

/**
 * POST /tf-validate: the code of a pending sign-in, or of a setup being
 * confirmed. Wrong code: `TWO_FACTOR_INVALID_TOKEN`; too many:
 * `TWO_FACTOR_TOO_MANY_ATTEMPTS` / `TWO_FACTOR_LOCKED` (429, `retryAfter`).
 */
export async function submitCode(client: TfaClient, code: string): Promise<User> {
  const answer = await client.call('post', '/tf-validate', {
    body: { code: code.trim() },
    query: client.signInQuery(),
  });
  return answer.user;
}

/**
 * A new e-mail or SMS code for a pending sign-in. The service sends one code
 * per password step ("sign in again to resend", openapi.yaml POST /login), so
 * this repeats the password step; a code sent less than the send gap ago is a
 * 429 with `retryAfter`. Authenticator codes are not sent: nothing to resend.
 */
export async function resendSignInCode(client: TfaClient, credentials: Credentials): Promise<SignInResult> {
  const result = await signIn(client, credentials);
  if (result.status === 'code-required' && result.method === 'authenticator')
    throw new TfaUsageError('An authenticator code is not sent: use the code the app shows.');
  return result;
}
