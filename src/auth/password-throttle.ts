import type { Kysely } from 'kysely';
import { normalizeIP } from '@fastify/rate-limit';
import type { AuditContext, Auditor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import { AppError } from '../errors.js';
import { findUserByEmail, normalizeEmail } from '../users/users.repository.js';
import { lockThrottles, saveThrottles, settleSuccess } from './password-throttle.repository.js';
import { chargeAttempt, IP_POLICY, PAIR_POLICY, type ThrottlePolicy } from './throttle-policy.js';

/** A charged password attempt, to be settled with `failed` or `succeeded`. */
export interface PasswordAttempt {
  readonly pairKey: string;
  readonly ipKey: string;
  /** Seconds of delay this attempt started if it fails (the budget ran out on it). */
  readonly delay: number | null;
  readonly delayScope: 'pair' | 'ip' | null;
  /** What the IP row held before this charge, so a success can give it back. */
  readonly ipStartedDelay: Date | null;
  readonly ipPreviousBlock: Date | null;
}

/**
 * Password throttling per (account, IP) and per IP (docs/architecture.md, Budgets). Counted apart
 * from the second factor's lockout: a wrong password never touches
 * users.tf_failures, so nobody can lock a user out by guessing passwords.
 */
export interface PasswordThrottle {
  /**
   * Charges one attempt before any password hashing; throws 429 RATE_LIMITED
   * (audited) when the pair or the IP is waiting out a delay. The e-mail need
   * not belong to an account: unknown addresses are throttled the same way.
   */
  begin(email: string, ctx: AuditContext, event?: 'signin.failure' | 'verify.failure'): Promise<PasswordAttempt>;
  /** The error for a wrong password: 429 if this attempt started a delay, else GENERIC_AUTHN_FAILED. */
  failed(attempt: PasswordAttempt, userId: number | null, ctx: AuditContext): Promise<AppError>;
  /** The password was right: the pair starts over; the IP gets its charge back. */
  succeeded(attempt: PasswordAttempt): Promise<void>;
}

export interface ThrottleDeps {
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  audit: Auditor;
  pairPolicy?: ThrottlePolicy;
  ipPolicy?: ThrottlePolicy;
}

const PURPOSE = 'password-throttle';

export function createPasswordThrottle(deps: ThrottleDeps): PasswordThrottle {
  const pairPolicy = deps.pairPolicy ?? PAIR_POLICY;
  const ipPolicy = deps.ipPolicy ?? IP_POLICY;

  return {
    async begin(email, ctx, event = 'signin.failure') {
      // IPv6 by /64, as the per-IP rate limit does: one host usually owns a whole /64.
      const ip = ctx.ip ? normalizeIP(ctx.ip) : 'unknown';
      const pairKey = deps.hmac.hashParts(PURPOSE, ['pair', normalizeEmail(email), ip]);
      const ipKey = deps.hmac.hashParts(PURPOSE, ['ip', ip]);
      const now = deps.clock.now();
      // Pair first, then IP, always in this order: concurrent transactions never wait on each other in a cycle.
      // Both rows are locked by one statement (the IP row too when the pair refuses: an unused
      // lock, and a new row that means the same as none), and both charges written by one.
      const outcome = await deps.db.transaction().execute(async (trx) => {
        const states = await lockThrottles(
          trx,
          [
            { key: pairKey, scope: 'pair' },
            { key: ipKey, scope: 'ip' },
          ],
          now,
        );
        const pair = chargeAttempt(pairPolicy, states.get(pairKey)!, now);
        if (!pair.allowed) return { refused: 'pair' as const, retryAfter: pair.retryAfter };
        const ipState = states.get(ipKey)!;
        const byIp = chargeAttempt(ipPolicy, ipState, now);
        if (!byIp.allowed) return { refused: 'ip' as const, retryAfter: byIp.retryAfter };
        // Both charges are written together or not at all.
        await saveThrottles(trx, [
          { key: pairKey, state: pair.next },
          { key: ipKey, state: byIp.next },
        ]);
        const delayScope =
          pair.delay !== null && (byIp.delay === null || pair.delay >= byIp.delay)
            ? 'pair'
            : byIp.delay !== null
              ? 'ip'
              : null;
        const attempt: PasswordAttempt = {
          pairKey,
          ipKey,
          delay: delayScope === 'pair' ? pair.delay : byIp.delay,
          delayScope,
          ipStartedDelay: byIp.next.blockedUntil,
          ipPreviousBlock: ipState.blockedUntil,
        };
        return attempt;
      });
      if ('refused' in outcome) {
        // Audited against the account when there is one; the lookup costs the same either way and is not hashing.
        const user = await findUserByEmail(deps.db, email);
        await deps.audit.record(deps.db, event, user?.id ?? null, ctx, { reason: 'throttled', scope: outcome.refused });
        throw new AppError('RATE_LIMITED', { retryAfter: outcome.retryAfter });
      }
      return outcome;
    },

    async failed(attempt, userId, ctx) {
      if (attempt.delay === null) return new AppError('GENERIC_AUTHN_FAILED');
      await deps.audit.record(deps.db, 'signin.throttled', userId, ctx, {
        scope: attempt.delayScope,
        seconds: attempt.delay,
      });
      return new AppError('RATE_LIMITED', { retryAfter: attempt.delay });
    },

    async succeeded(attempt) {
      await settleSuccess(deps.db, attempt.pairKey, attempt.ipKey, attempt.ipStartedDelay, attempt.ipPreviousBlock);
    },
  };
}
