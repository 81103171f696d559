import type { TfaClient } from '../client.js';
import type { RescueOption, User } from './types.js';

/** GET /tf-rescue: the ways in without the usual second factor, for a sign-in waiting for its code. */
export async function rescueOptions(client: TfaClient): Promise<RescueOption[]> {
  const answer = await client.call('get', '/tf-rescue');
  return (Object.keys(answer.recovery_options) as RescueOption[]).filter((o) => answer.recovery_options[o]);
}

/** What the user does next after choosing a rescue option. */
export type RescueNext = 'enter-recovery-code' | 'enter-emailed-code' | 'help-desk-notified';

/**
 * POST /tf-rescue. `recovery_code`: then `useRecoveryCode`; `email`: a code
 * was e-mailed, then `submitCode`; `help`: the help desk was told.
 */
export async function rescue(client: TfaClient, option: RescueOption): Promise<RescueNext> {
  const answer = await client.call('post', '/tf-rescue', { body: { help_setup: option } });
  if (answer.tf_rescue_next === '/mf-recovery') {
    // Checks the recovery-code step is open now (openapi.yaml GET /mf-recovery), so a failure shows before the user types.
    await client.call('get', '/mf-recovery');
    return 'enter-recovery-code';
  }
  return option === 'email' ? 'enter-emailed-code' : 'help-desk-notified';
}

/** POST /mf-recovery: signs in with one recovery code instead of the second factor (each works once). */
export async function useRecoveryCode(client: TfaClient, code: string): Promise<User> {
  const answer = await client.call('post', '/mf-recovery', { body: { code }, query: client.signInQuery() });
  return answer.user;
}
