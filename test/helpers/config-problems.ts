import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.js';
import { TEST_SECRETS } from './app.js';

/** The start-up problems loadConfig reports for this environment (with the test secrets), [] when it loads. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...TEST_SECRETS, ...env });
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}
