import type { Kysely } from 'kysely';
import type { Auditor } from './audit/audit.js';
import type { PasswordThrottle } from './auth/password-throttle.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { KeyedHasher } from './crypto/keyed-hash.js';
import type { SecretBox } from './crypto/secret-box.js';
import type { DB } from './db/types.js';
import type { Metrics } from './metrics/metrics.js';
import type { RescueOptions } from './rescue/options.js';
import type { Senders } from './senders/types.js';

/**
 * Everything the features need, built once by buildApp (app.ts) and passed to
 * each feature's routes; a feature's own type is a Pick<> of it where a
 * narrower view helps (two-factor/deps.ts).
 */
export interface AppDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  box: SecretBox;
  senders: Senders;
  audit: Auditor;
  metrics: Metrics;
  throttle: PasswordThrottle;
  /** The /tf-rescue choices offered to a user (rescue/options.ts). */
  rescueOptions: RescueOptions;
}
