import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The /docs reference page: an HTML shell and Redoc's standalone bundle. Both
 * are release files, not request data: `npm run build` writes them next to the
 * compiled routes (build.ts), so production needs no redoc package (a
 * devDependency, with its React tree); from source (`npm start`, tests) they
 * are made here from the installed redoc, the same way.
 */

/** Where the built files go, relative to the compiled docs.routes.js. */
export const BUILT_DIR = 'site';
export const PAGE_FILE = 'index.html';
export const BUNDLE_FILE = 'redoc.standalone.js';

// System fonts instead of Redoc's Roboto/Montserrat, which it expects a page to fetch from Google.
const THEME = JSON.stringify({
  typography: {
    fontFamily: 'system-ui, -apple-system, "Segoe UI", sans-serif',
    headings: { fontFamily: 'system-ui, -apple-system, "Segoe UI", sans-serif' },
    code: { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace' },
  },
});

// Relative URLs, so the page also works behind a proxy that adds a path prefix.
// The <redoc> tag before the script: the bundle renders it as soon as it runs (no inline script).
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tfa-service API</title>
<style>body { margin: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.yaml" theme='${THEME}'></redoc>
<script src="docs/${BUNDLE_FILE}"></script>
</body>
</html>
`;

export interface DocsSite {
  page: Buffer;
  bundle: Buffer;
}

/** Redoc's standalone bundle in the installed redoc package (development and the build step). */
export function redocBundlePath(): string {
  try {
    return createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
  } catch {
    throw new Error(
      'The /docs page is not built and the redoc package is not installed: run `npm run build` (redoc is a devDependency).',
    );
  }
}

/** The page and bundle from the installed redoc package (the build step). */
export function siteFromRedoc(): DocsSite {
  return { page: Buffer.from(PAGE, 'utf8'), bundle: readFileSync(redocBundlePath()) };
}
