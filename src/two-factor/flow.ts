import type { PendingKind, PendingState } from '../db/types.js';

/**
 * The pending sign-in or setup (a tf_pending row the session points at) and
 * which of its states and kinds each step accepts, in one table (openapi.yaml
 * describes the states as `tf_state`):
 *
 *   /login ─► ready ─────────────────────────────► (validate) ─► signed in
 *   /login ─► select ─► (/tf-select) ─► ready ─► (validate, or a key at /wan-signin) ─► signed in
 *   /login ─► setup_from_login ─► (setup) ─► validating_profile ─► (validate) ─► signed in
 *   signed in ─► (setup) ─► validating_profile, kind `change` ─► (validate / confirm) ─► changed
 *
 * A call in a state its step does not accept is 400 TWO_FACTOR_PERMISSION_DENIED
 * and voids the pending row, so a confused or hostile client starts over.
 */
export interface StepRule {
  states: readonly PendingState[];
  kinds: readonly PendingKind[];
}

export const STEP = {
  /** GET/POST /tf-setup by a pending sign-in that must set up (a signed-in user needs none). */
  setup: { states: ['setup_from_login', 'validating_profile'], kinds: ['signin'] },
  /** GET/POST /tf-validate: a code for the sign-in, or for a signed-in user's new setup. */
  validate: { states: ['ready', 'validating_profile'], kinds: ['signin', 'change'] },
  /** POST /tf-setup/{tf_state_token}: a signed-in user's new setup, named by the token. */
  confirm: { states: ['validating_profile'], kinds: ['change'] },
  /** /tf-rescue and /mf-recovery: an anonymous sign-in that cannot give its factor. */
  rescue: { states: ['ready'], kinds: ['signin'] },
  /** GET/POST /tf-select: a sign-in whose user holds two factors picks one. */
  select: { states: ['select'], kinds: ['signin'] },
  /** POST /wan-signin and /wan-signin/{wan_state}: a security key for a sign-in's second step. */
  keySignin: { states: ['ready'], kinds: ['signin'] },
} as const satisfies Record<string, StepRule>;
