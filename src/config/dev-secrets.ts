import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedSecrets } from './load.js';

/**
 * Development convenience (docs/architecture.md, Secrets at rest): generate SECRET_KEY and a TOTP key once and
 * keep them in the data folder, so sessions and encrypted secrets survive a
 * restart. Production refuses to start without real values instead.
 */
export function devSecrets(dataDir: string): GeneratedSecrets {
  const file = join(dataDir, 'dev-secrets.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as GeneratedSecrets;
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secrets: GeneratedSecrets = {
      SECRET_KEY: randomBytes(32).toString('base64url'),
      SECURITY_TOTP_SECRETS: { '1': randomBytes(32).toString('base64url') },
    };
    // 'wx' fails if another process created it first: then read theirs.
    try {
      writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
      return secrets;
    } catch {
      return JSON.parse(readFileSync(file, 'utf8')) as GeneratedSecrets;
    }
  }
}
