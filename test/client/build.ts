import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type * as ClientPackage from '../../packages/client/src/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PACKAGE_DIR = join(ROOT, 'packages/client');

let built: Promise<void> | undefined;

/**
 * `tsc -p packages/client`, once per test process, with the compiler the root
 * pins (packages/client/README.md, How it is built): the tests then import
 * dist/, the files a publish would ship, rather than the sources.
 */
export function buildClientPackage(): Promise<void> {
  built ??= promisify(execFile)(process.execPath, [
    join(ROOT, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(PACKAGE_DIR, 'tsconfig.json'),
  ]).then(() => undefined);
  return built;
}

/** The built package, as `import '@tfa-service/client'` would load it. */
export async function loadClientPackage(): Promise<typeof ClientPackage> {
  await buildClientPackage();
  return import(pathToFileURL(join(PACKAGE_DIR, 'dist/index.js')).href);
}
