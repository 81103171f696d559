/**
 * A process that takes a data folder the way the service and the command line
 * do, for the race test in test/ops/data-dir-owner.test.ts. Usage:
 *   tsx test/helpers/claim-data-dir.ts DIR
 * Prints "ready", waits for the line "go" on stdin (so many processes start
 * their claim together), prints "won" or "busy <message>", then holds the
 * folder until stdin ends.
 */
import { createInterface } from 'node:readline';
import { claimDataDir } from '../../src/db/data-dir-lock.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: claim-data-dir.ts DIR');
const lines = createInterface({ input: process.stdin });
console.log('ready');
lines.once('line', () => {
  try {
    claimDataDir(dir, 'process', 'race test');
    console.log('won');
  } catch (err) {
    console.log(`busy ${(err as Error).message}`);
  }
});
lines.once('close', () => process.exit(0));
