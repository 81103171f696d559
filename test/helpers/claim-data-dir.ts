/**
 * A process that takes data folders the way the service and the command line
 * do, for the race test in test/ops/data-dir-owner.test.ts. Usage:
 *   tsx test/helpers/claim-data-dir.ts DIR...
 * Prints "ready", waits for the line "go" on stdin (so many processes start
 * their claims together), tries each folder in turn and prints "won DIR" or
 * "busy DIR <message>" for each, then holds what it won until stdin ends.
 */
import { createInterface } from 'node:readline';
import { claimDataDir } from '../../src/db/data-dir-lock.js';

const dirs = process.argv.slice(2);
if (!dirs.length) throw new Error('usage: claim-data-dir.ts DIR...');
// Each lock held adds a process 'exit' listener (it is released on exit); this process holds
// up to 150 on purpose, which Node would otherwise warn about as a leak on stderr.
process.setMaxListeners(dirs.length + 10);
const lines = createInterface({ input: process.stdin });
console.log('ready');
lines.once('line', () => {
  for (const dir of dirs) {
    try {
      claimDataDir(dir, 'process', 'race test');
      console.log(`won ${dir}`);
    } catch (err) {
      console.log(`busy ${dir} ${(err as Error).message}`);
    }
  }
  console.log('done');
});
lines.once('close', () => process.exit(0));
