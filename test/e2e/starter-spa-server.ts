import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

export const STARTER_DIR = fileURLToPath(new URL('../../examples/starter-spa/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

export interface BuiltSpa {
  origin: string;
  /** Where the built SPA calls the service; set before build(). */
  apiOrigin: string;
  /** `vite build` with VITE_TFA_API = apiOrigin, into a folder of this server's own; returns each file's size, raw and gzipped. */
  build(): Promise<Map<string, { bytes: number; gzip: number }>>;
  close(): Promise<void>;
}

/**
 * The starter SPA (examples/starter-spa) as production serves it: built by
 * Vite with the project's own config, then served as static files from its own
 * origin with a Content-Security-Policy that allows the service's origin and
 * `data:` images (the QR code) and nothing else. The server starts before the
 * build because the service must list this origin in CORS_ORIGINS, and the
 * build must know the service's origin.
 */
export async function startBuiltSpa(): Promise<BuiltSpa> {
  const outDir = mkdtempSync(join(tmpdir(), 'starter-spa-'));
  const state = { apiOrigin: '' };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://spa').pathname;
    const file = normalize(join(outDir, path === '/' ? 'index.html' : path));
    let body: Buffer | undefined;
    try {
      if (file.startsWith(outDir) && req.method === 'GET') body = readFileSync(file);
    } catch {
      body = undefined;
    }
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${state.apiOrigin}; img-src 'self' data:; base-uri 'none'; form-action 'none'`,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get apiOrigin() {
      return state.apiOrigin;
    },
    set apiOrigin(v: string) {
      state.apiOrigin = v;
    },
    async build() {
      const output = await build({
        configFile: join(STARTER_DIR, 'vite.config.ts'),
        logLevel: 'silent',
        define: { 'import.meta.env.VITE_TFA_API': JSON.stringify(state.apiOrigin) },
        build: { outDir, emptyOutDir: true },
      });
      const sizes = new Map<string, { bytes: number; gzip: number }>();
      for (const result of Array.isArray(output) ? output : [output])
        if ('output' in result)
          for (const chunk of result.output) {
            const content = Buffer.from(chunk.type === 'chunk' ? chunk.code : chunk.source);
            sizes.set(chunk.fileName, { bytes: content.length, gzip: gzipSync(content).length });
          }
      return sizes;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
