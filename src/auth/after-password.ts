import type { Caller } from '../caller.js';
import type { User } from '../users/users.repository.js';

/** What the password step leads to: signed in at once, or a pending second factor to answer with. */
export type LoginOutcome =
  | {
      kind: 'signed-in';
      user: User;
      methods: string[];
      /** More members of the answer (a required user in the grace period: tf_setup_required, tf_grace_until). */
      extra?: Record<string, unknown>;
    }
  | { kind: 'pending'; answer: Record<string, unknown> };

/**
 * What happens once the password is accepted: the port through which the
 * two-factor feature hooks into sign-in (two-factor/login.service.ts), so
 * auth/ never imports two-factor/.
 */
export interface AfterPassword {
  /** Drops an earlier pending sign-in of this session (any new /login does, openapi.yaml /login). */
  discardPending(caller: Caller): Promise<void>;
  /** `firstFactor`: what passed when it was not the password (unified sign-in: an e-mail code). */
  proceed(caller: Caller, user: User, opts: { remember: boolean; firstFactor?: string }): Promise<LoginOutcome>;
}
