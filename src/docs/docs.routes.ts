import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { BUILT_DIR, BUNDLE_FILE, PAGE, PAGE_FILE, redocBundlePath } from './page.js';

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

/**
 * The page (573 bytes, kept) and the path of Redoc's bundle: the files `npm run
 * build` wrote next to this module (production), else the page made here and
 * the bundle of the installed redoc (running from source).
 */
function findSite(): { page: Buffer; bundlePath: string } {
  const built = new URL(`./${BUILT_DIR}/`, import.meta.url);
  const page = new URL(PAGE_FILE, built);
  const bundle = new URL(BUNDLE_FILE, built);
  if (existsSync(page) && existsSync(bundle)) return { page: readFileSync(page), bundlePath: fileURLToPath(bundle) };
  return { page: Buffer.from(PAGE, 'utf8'), bundlePath: redocBundlePath() };
}

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  // Found at start, so a release without them does not start; read per request, so the 1.2 MiB
  // (Redoc's bundle, most of it) is not held in memory for pages few open (docs/architecture.md, Memory).
  const documentPath = findDocument();
  const { page, bundlePath } = findSite();

  app.get('/openapi.yaml', { config: { envelope: false } }, async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send(createReadStream(documentPath)),
  );

  app.get('/docs', { config: { envelope: false } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('Content-Security-Policy', DOCS_CSP).send(page),
  );

  app.get('/docs/redoc.standalone.js', { config: { envelope: false } }, async (_request, reply) =>
    // 1 MiB that only changes with the redoc version in package.json: let browsers keep it an hour.
    reply
      .type('text/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=3600')
      .send(createReadStream(bundlePath)),
  );
}
