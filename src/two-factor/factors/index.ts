import { authenticator } from './authenticator.js';
import type { Factor, FactorId } from './factor.js';
import { sentCode } from './sent-code.js';

/** The factor table: one line per method (docs/architecture.md, "Adding a factor"). */
export const factors = {
  authenticator,
  email: sentCode('email'),
  sms: sentCode('sms'),
} as const satisfies Record<FactorId, Factor>;

/** The factor of a stored method name, or null for none (or one this version no longer has). */
export function factorOf(id: string | null | undefined): Factor | null {
  return id && Object.hasOwn(factors, id) ? factors[id as FactorId] : null;
}
