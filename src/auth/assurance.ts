/**
 * Authenticator assurance of a sign-in (GET /me `aal`; docs/backend-services.md):
 * `aal2` when it proved two different factors (the password and a second
 * factor or a recovery code), `aal1` otherwise. A remembered device skips the
 * code without proving a factor now, so it does not count: a backend that
 * needs `aal2` gets it only from sign-ins that passed the second factor.
 */
export type AssuranceLevel = 'aal1' | 'aal2';

const NOT_A_FACTOR = new Set(['remembered_device']);

export function assuranceLevel(methods: readonly string[]): AssuranceLevel {
  return new Set(methods.filter((m) => !NOT_A_FACTOR.has(m))).size >= 2 ? 'aal2' : 'aal1';
}

/** When a sign-in made now with these methods passed its second factor: now, or never. */
export function secondFactorAt(methods: readonly string[], now: Date): Date | null {
  return assuranceLevel(methods) === 'aal2' ? now : null;
}
