import { ConfigProblem } from './parse.js';
import { schema } from './schema.js';

export interface Storage {
  databaseUrl: string | undefined;
  dataDir: string;
}

/**
 * Where the data lives, read before the rest of the configuration: whoever
 * opens the embedded folder must lock it before anything (development secrets
 * included) is written there (README, "One owner per data folder"). Null when
 * either value is invalid: loadConfig then reports it with every other problem.
 */
export function storageSettings(env: Record<string, string | undefined>): Storage | null {
  try {
    return {
      databaseUrl: schema.DATABASE_URL.parse(env.DATABASE_URL, 'DATABASE_URL'),
      dataDir: schema.DATA_DIR.parse(env.DATA_DIR, 'DATA_DIR'),
    };
  } catch (err) {
    if (err instanceof ConfigProblem) return null;
    throw err;
  }
}
