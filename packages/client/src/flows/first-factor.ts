import type { TfaClient } from '../client.js';
import type { Ok } from '../operations.js';
import type { SignInResult } from './sign-in.js';
import type { SecondFactorMethod } from './types.js';

// Internal to the flows: index.ts does not export this module.

type LoginAnswer = Ok<'/login', 'post'> | Ok<'/tf-select', 'post'> | Ok<'/us-signin', 'post'>;

/**
 * Where a first factor's answer leaves the sign-in: /login's, /register's and
 * /us-signin's answers are one shape (openapi.yaml, LoginResult).
 */
export async function afterFirstFactor(client: TfaClient, answer: LoginAnswer): Promise<SignInResult> {
  if (!answer.tf_required) return { status: 'signed-in', user: answer.user };
  if ('tf_select' in answer) return { status: 'select-required', methods: answer.tf_setup_methods };
  if (answer.tf_state === 'ready') {
    return answer.tf_method === 'webauthn'
      ? { status: 'key-required', signInUrl: answer.tf_signin_url ?? '/wan-signin' }
      : { status: 'code-required', method: answer.tf_method };
  }
  const info = await client.call('get', '/tf-setup');
  const methods = info.tf_available_methods.filter((m): m is SecondFactorMethod => m !== 'disable');
  return { status: 'setup-required', methods };
}
