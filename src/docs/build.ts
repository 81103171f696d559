/**
 * Build step (`npm run build`, after tsc): writes the /docs page and Redoc's
 * bundle into dist/src/docs/site/, where the compiled docs.routes.js serves
 * them from. Run with the devDependencies installed; the image copies the result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { BUILT_DIR, BUNDLE_FILE, PAGE_FILE, siteFromRedoc } from './page.js';

if (!import.meta.url.endsWith('.js')) {
  // From source it would write into src/; the development server makes the page in memory instead.
  console.error('run the compiled build step: npm run build');
  process.exit(2);
}
const dir = new URL(`./${BUILT_DIR}/`, import.meta.url);
const site = siteFromRedoc();
mkdirSync(dir, { recursive: true });
writeFileSync(new URL(PAGE_FILE, dir), site.page);
writeFileSync(new URL(BUNDLE_FILE, dir), site.bundle);
console.log(`docs page built into ${dir.pathname} (${site.bundle.length} bytes of Redoc)`);
