import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { AppError, ValidationError } from '../errors.js';
import type { Auth } from '../http/auth-context.js';
import { policySubjectOf } from '../policy/policy.repository.js';
import { twoFactorPolicy, type PolicySubject } from '../policy/two-factor-policy.js';
import { assuranceLevel } from './assurance.js';

/** `?max_age=`: whole seconds, as OpenID Connect's max_age (at most 10 digits); anything else is 400 API_ERROR. */
export function readMaxAge(query: unknown): number | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.max_age;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw)) {
    throw new ValidationError([{ field: 'max_age', key: 'API_ERROR' }]);
  }
  return Number(raw);
}

/**
 * GET /me beyond `user` (openapi.yaml, /me): the user's id and roles, the
 * second factor and when the sign-in passed it, the assurance level, and the
 * two-factor policy that applies. With `max_age`, a sign-in (or /verify) older
 * than that many seconds is 401 AUTHENTICATION_TOO_OLD: the step-up answer
 * (docs/backend-services.md).
 */
export async function meAnswer(
  deps: { config: Config; db: Kysely<DB>; clock: Clock },
  auth: Auth,
  maxAge: number | undefined,
): Promise<Record<string, unknown>> {
  const now = deps.clock.now();
  if (maxAge !== undefined && now.getTime() - auth.authAt.getTime() > maxAge * 1000) {
    throw new AppError('AUTHENTICATION_TOO_OLD', {
      extra: { reauth_required: true, authenticated_at: auth.authAt.toISOString() },
    });
  }
  // Read with the session or token (one statement for both); a caller built otherwise reads it here.
  const subject = auth.user.policy ?? (await loadSubject(deps.db, auth.user.id));
  const policy = twoFactorPolicy(deps.config, subject, now);
  return {
    id: auth.user.id,
    roles: subject.roles,
    tf_primary_method: auth.user.tf_primary_method,
    tf_required: policy.required,
    tf_authenticated_at: auth.tfAt ? auth.tfAt.toISOString() : null,
    authenticated_at: auth.authAt.toISOString(),
    authn_methods: auth.authnMethods,
    aal: assuranceLevel(auth.authnMethods),
  };
}

async function loadSubject(db: Kysely<DB>, userId: number): Promise<PolicySubject> {
  const subject = await policySubjectOf(db, userId);
  if (!subject) throw new AppError('UNAUTHENTICATED');
  return subject;
}
