import type { AfterPassword } from '../auth/after-password.js';
import type { PasswordThrottle } from '../auth/password-throttle.js';
import type { TfDeps } from '../two-factor/deps.js';
import type { WithFactors } from '../two-factor/factors/factor.js';

/**
 * What unified sign-in uses: the two-factor services' dependencies and the factor
 * table (its methods are those factors), the password throttle (every passcode
 * guess is charged there), and the port after the first factor (auth/after-password.ts),
 * through which a passcode in SECURITY_US_MFA_REQUIRED goes on exactly as /login does.
 */
export type UsDeps = TfDeps & WithFactors & { throttle: PasswordThrottle; afterPassword: AfterPassword };

/** The pending rows unified sign-in keeps a sent code on (db/types.ts PendingKind). */
export type PasscodeKind = 'us_signin' | 'us_verify';
