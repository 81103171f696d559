import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/**
 * The contract, served by the service it describes (openapi.yaml): the committed
 * openapi.yaml as is, and a reference page rendered by Redoc's standalone
 * bundle, served from here so the page works offline and under a strict CSP.
 */

/**
 * openapi.yaml sits at the repository root: two levels above this file under
 * tsx (src/docs/), three under the compiled build (dist/src/docs/).
 */
function findDocument(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    const candidate = join(dir, 'openapi.yaml');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('openapi.yaml not found above src/docs (it is served at /openapi.yaml)');
}

/**
 * Redoc's bundle shows a Redocly logo loaded from cdn.redoc.ly (its onError
 * hides it) and has no option to drop it, so the CSP refuses every origin but
 * ours: nothing is fetched from elsewhere. Styles are inline because Redoc
 * injects them at run time (styled-components); its search runs in a blob: worker.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

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
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tfa-service API</title>
<style>body { margin: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.yaml" theme='${THEME}'></redoc>
<script src="docs/redoc.standalone.js"></script>
</body>
</html>
`;

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  // Read once at start: both files are part of the release, not of the request.
  const document = readFileSync(findDocument());
  const bundle = readFileSync(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js'));

  app.get('/openapi.yaml', { config: { envelope: false } }, async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send(document),
  );

  app.get('/docs', { config: { envelope: false } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('Content-Security-Policy', DOCS_CSP).send(PAGE),
  );

  app.get('/docs/redoc.standalone.js', { config: { envelope: false } }, async (_request, reply) =>
    // 1 MiB that only changes with the redoc version in package.json: let browsers keep it an hour.
    reply.type('text/javascript; charset=utf-8').header('Cache-Control', 'public, max-age=3600').send(bundle),
  );
}
