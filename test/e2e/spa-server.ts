import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * Serves the sample SPA (test/e2e/app) from its own origin. Its TypeScript is
 * compiled file by file in memory with the compiler the project already pins
 * (types erased, no bundle: the browser loads plain ES modules). Type checking
 * is a separate, slower step — `tsc -p test/e2e/app`, which the e2e test runs
 * in a child process alongside the browser — so a server starts in milliseconds.
 *
 * By hand, against a service on :3000 started with
 * CORS_ORIGINS=http://127.0.0.1:5173 SECURITY_REGISTERABLE=true:
 *   npx tsx test/e2e/spa-server.ts --api http://127.0.0.1:3000 --port 5173
 */
export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), 'app');

export function compileSpa(appDir = APP_DIR): Map<string, string> {
  const configPath = join(appDir, 'tsconfig.json');
  const raw = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (raw.error) throw new Error(ts.flattenDiagnosticMessageText(raw.error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(raw.config, ts.sys, appDir, undefined, configPath);
  const modules = new Map<string, string>();
  const srcDir = join(appDir, 'src');
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    const out = ts.transpileModule(readFileSync(join(srcDir, file), 'utf8'), {
      compilerOptions: options,
      fileName: file,
      reportDiagnostics: true,
    });
    if (out.diagnostics?.length)
      throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(out.diagnostics[0]!.messageText, '\n')}`);
    modules.set(file.replace(/\.ts$/, '.js'), out.outputText);
  }
  return modules;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

export interface SpaServer {
  origin: string;
  /** Where the SPA's fetches go; may be set after start (the API's port is known later). */
  apiOrigin: string;
  close(): Promise<void>;
}

export async function startSpaServer(
  opts: { apiOrigin?: string; port?: number; host?: string } = {},
): Promise<SpaServer> {
  const modules = compileSpa();
  const html = readFileSync(join(APP_DIR, 'index.html'), 'utf8');
  const css = readFileSync(join(APP_DIR, 'style.css'), 'utf8');
  const state = { apiOrigin: opts.apiOrigin ?? '' };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://spa').pathname;
    let body: string | undefined;
    if (path === '/' || path === '/index.html')
      body = html.replace('%API_ORIGIN%', state.apiOrigin.replace(/[^\w:/.[\]-]/g, ''));
    else if (path === '/style.css') body = css;
    else if (path.startsWith('/src/')) body = modules.get(path.slice('/src/'.length));
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const ext = path === '/' ? '.html' : path.slice(path.lastIndexOf('.'));
    res.writeHead(200, {
      'Content-Type': TYPES[ext] ?? 'application/octet-stream',
      'Cache-Control': 'no-store',
      // The SPA needs nothing but itself, the API and data: images (the QR code).
      'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${state.apiOrigin}; img-src 'self' data:; base-uri 'none'; form-action 'none'`,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    origin: `http://${address}:${port}`,
    get apiOrigin() {
      return state.apiOrigin;
    },
    set apiOrigin(v: string) {
      state.apiOrigin = v;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const spa = await startSpaServer({
    apiOrigin: arg('api') ?? 'http://127.0.0.1:3000',
    port: Number(arg('port') ?? 5173),
  });
  console.log(
    `sample SPA on ${spa.origin}, calling ${spa.apiOrigin}; start the service with CORS_ORIGINS=${spa.origin}`,
  );
}
