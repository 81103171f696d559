import type { Kysely } from 'kysely';
import type { Auditor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { DB } from '../db/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Senders } from '../senders/types.js';

/** Everything the two-factor services need, passed in once by buildApp. */
export interface TfDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  box: SecretBox;
  senders: Senders;
  audit: Auditor;
  metrics: Metrics;
}

/** TOTP secrets are bound to their user (AES-GCM associated data, SPEC §5). */
export function secretAad(userId: number): string {
  return `user:${userId}`;
}
