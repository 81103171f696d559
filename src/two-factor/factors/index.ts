import { authenticator } from './authenticator.js';
import type { Factors } from './factor.js';
import { sentCode } from './sent-code.js';
import { webauthn } from './webauthn.js';

/**
 * The factor table: one line per method (docs/architecture.md, "Adding a
 * factor"). app.ts passes it to the two-factor services, which pick a factor
 * from it (factorOf) without importing any.
 */
export const factors = {
  authenticator,
  email: sentCode('email'),
  sms: sentCode('sms'),
  webauthn,
} as const satisfies Factors;
