import type { AuditContext } from '../audit/audit.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { TfDeps } from '../two-factor/deps.js';
import { generateRecoveryCodes, normalizeRecoveryCode } from './codes.js';
import type { OptionProbe } from '../rescue/options.js';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { countUnusedRecoveryCodes, replaceRecoveryCodes } from './recovery-codes.repository.js';

/**
 * The keyed hash of a code's canonical form (docs/architecture.md, Secrets at rest). Hashing the canonical
 * form, not the display form, is what makes "ABCD EF01 2345" match "abcd-ef01-2345".
 */
export function recoveryCodeHash(deps: { hmac: KeyedHasher }, canonical: string): string {
  return deps.hmac.hash('recovery-code', canonical);
}

/**
 * POST /mf-recovery-codes: SECURITY_MULTI_FACTOR_RECOVERY_CODES_N new codes
 * replace all old ones in one transaction. The display form is returned this
 * once and exists nowhere else afterwards.
 */
export async function regenerateRecoveryCodes(deps: TfDeps, userId: number, ctx: AuditContext): Promise<string[]> {
  const codes = generateRecoveryCodes(deps.config.SECURITY_MULTI_FACTOR_RECOVERY_CODES_N);
  const hashes = codes.map((code) => {
    const canonical = normalizeRecoveryCode(code);
    if (!canonical) throw new Error('generated recovery code is not canonical');
    return recoveryCodeHash(deps, canonical);
  });
  await deps.db.transaction().execute(async (trx) => {
    await replaceRecoveryCodes(trx, userId, hashes, deps.clock.now());
    await deps.audit.record(trx, 'recovery_codes.generated', userId, ctx, { count: codes.length });
  });
  return codes;
}

/** The rescue option `recovery_code`: offered only while the feature is on and the user has an unused code. */
export function recoveryCodeOption(deps: { config: Config; db: Kysely<DB> }): OptionProbe {
  return async (user) => {
    const offered =
      deps.config.SECURITY_MULTI_FACTOR_RECOVERY_CODES && (await countUnusedRecoveryCodes(deps.db, user.id)) > 0;
    const options: Record<string, string> = offered ? { recovery_code: '/mf-recovery' } : {};
    return options;
  };
}
