import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type * as ClientPackage from '../../packages/client/src/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PACKAGE_DIR = join(ROOT, 'packages/client');

let built: Promise<string> | undefined;

/**
 * `tsc -p packages/client`, once per test process, with the compiler the root
 * pins (packages/client/README.md, How it is built), into a folder laid out as
 * the published package would be (package.json, README.md, dist/). The tests
 * then load what a publish would ship rather than the sources. A folder per
 * process, because test files run in parallel and one must not read dist/
 * while another rewrites it.
 */
export function buildClientPackage(): Promise<string> {
  built ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'tfa-client-'));
    process.once('exit', () => rmSync(out, { recursive: true, force: true }));
    await promisify(execFile)(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(PACKAGE_DIR, 'tsconfig.json'),
      '--outDir',
      join(out, 'dist'),
    ]);
    for (const file of ['package.json', 'README.md']) copyFileSync(join(PACKAGE_DIR, file), join(out, file));
    return out;
  })();
  return built;
}

/** The built package, as `import '@tfa-service/client'` would load it. */
export async function loadClientPackage(): Promise<typeof ClientPackage> {
  const dir = await buildClientPackage();
  return import(pathToFileURL(join(dir, 'dist/index.js')).href);
}
