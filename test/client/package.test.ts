/**
 * The client package as a publishable artefact: it builds with the root's
 * pinned TypeScript, its types are the ones openapi.yaml generates, its
 * browser path uses no Node built-in, and its package.json exports what it
 * builds. Flows against the service are in flows.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import type * as Client from '../../packages/client/src/index.js';
import { buildClientPackage, loadClientPackage, PACKAGE_DIR, ROOT } from './build.js';

let pkg: typeof Client;
/** The built package: package.json, README.md and dist/, as published. */
let packed: string;

before(async () => {
  pkg = await loadClientPackage();
  packed = await buildClientPackage();
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('the package', () => {
  it('exports, for types and code, files the build produced; publishes dist and the README only', () => {
    const manifest = JSON.parse(readFileSync(join(packed, 'package.json'), 'utf8'));
    assert.equal(manifest.type, 'module');
    assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(manifest.files, ['dist', 'README.md']);
    assert.deepEqual(manifest.dependencies ?? {}, {}, 'no runtime dependency');
    for (const target of [manifest.exports['.'].types, manifest.exports['.'].default, manifest.types])
      assert.ok(statSync(join(packed, target)).isFile(), `${target} is built`);
  });

  it('imports no Node built-in and no other package (it must load in a browser)', () => {
    for (const file of files(join(packed, 'dist')).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(file, 'utf8');
      const specifiers = [...source.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      for (const s of specifiers) assert.match(s, /^\.\.?\//, `${relative(packed, file)} imports ${s}`);
      assert.doesNotMatch(source, /\b(require|process|Buffer)\b/, `${relative(packed, file)} uses a Node global`);
    }
  });
});

describe('the documentation', () => {
  it('the README documents every flow function the package exports', () => {
    const readme = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
    const flows = Object.entries(pkg).filter(([name, v]) => typeof v === 'function' && /^[a-z]/.test(name));
    assert.ok(flows.length > 15, flows.map(([n]) => n).join());
    for (const [name] of flows) assert.match(readme, new RegExp(`\\b${name}\\(`), `README.md: ${name}`);
  });

  it('relative links of the integration docs and READMEs lead to files that exist', () => {
    const docs = [
      'docs/spa-integration.md',
      'docs/behind-a-proxy.md',
      'packages/client/README.md',
      'examples/starter-spa/README.md',
    ];
    for (const doc of docs) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        assert.ok(statSync(join(ROOT, dirname(doc), target!), { throwIfNoEntry: false }), `${doc} links ${target}`);
      }
    }
  });
});

describe('the cookie jar (outside a browser)', () => {
  const answer = (cookies: string[]): Client.FetchResponse => ({
    status: 200,
    ok: true,
    headers: { get: () => null, getSetCookie: () => cookies },
    text: async () => JSON.stringify({ meta: { code: 200 }, response: { csrf_token: 'c' } }),
  });

  async function cookieAfter(baseUrl: string, setCookies: string[][]): Promise<string | undefined> {
    const seen: (string | undefined)[] = [];
    let i = 0;
    const client = pkg.createClient({
      baseUrl,
      fetch: async (_url, init) => {
        seen.push(init.headers['Cookie']);
        return answer(setCookies[i++] ?? []);
      },
    });
    for (let n = 0; n <= setCookies.length; n++) await pkg.currentUser(client);
    return seen.at(-1);
  }

  it('sends back what the service set, and drops what it expired', async () => {
    assert.equal(
      await cookieAfter('https://auth.example.com', [
        ['session=abc; Path=/; HttpOnly; Secure', 'tf_validity=d; Path=/'],
      ]),
      'session=abc; tf_validity=d',
    );
    assert.equal(
      await cookieAfter('https://auth.example.com', [
        ['session=abc; Path=/', 'tf_validity=d; Path=/'],
        ['session=; Max-Age=0; Path=/'],
      ]),
      'tf_validity=d',
    );
  });

  it('reads Set-Cookie joined into one header where fetch has no getSetCookie (older Node, polyfills)', async () => {
    const seen: (string | undefined)[] = [];
    const joined = 'session=abc; Path=/; Expires=Thu, 01 Jan 2099 00:00:00 GMT; HttpOnly, tf_validity=d; Path=/';
    const client = pkg.createClient({
      baseUrl: 'https://auth.example.com',
      fetch: async (_url, init) => {
        seen.push(init.headers['Cookie']);
        return {
          status: 200,
          ok: true,
          headers: { get: (name) => (name.toLowerCase() === 'set-cookie' ? joined : null) },
          text: async () => JSON.stringify({ meta: { code: 200 }, response: { csrf_token: 'c' } }),
        };
      },
    });
    await pkg.currentUser(client);
    await pkg.currentUser(client);
    assert.equal(seen[1], 'session=abc; tf_validity=d');
  });

  it('keeps a Secure cookie for https and loopback only, as a browser does (threat: a session cookie sent in clear text)', async () => {
    const secure = [['session=abc; Path=/; Secure']];
    assert.equal(await cookieAfter('http://auth.example.com', secure), undefined);
    assert.equal(await cookieAfter('http://127.0.0.1:3000', secure), 'session=abc');
    assert.equal(await cookieAfter('http://localhost:3000', secure), 'session=abc');
  });
});

describe('errors from the envelope', () => {
  it('carries the stable key, the messages, the field errors and Retry-After', async () => {
    const client = pkg.createClient({
      baseUrl: 'https://auth.example.com',
      fetch: async () => ({
        status: 429,
        ok: false,
        headers: { get: (name) => (name.toLowerCase() === 'retry-after' ? '17' : null) },
        text: async () =>
          JSON.stringify({
            meta: { code: 429 },
            response: {
              errors: ['Too many requests.'],
              field_errors: { '': ['Too many requests.'] },
              error_code: 'RATE_LIMITED',
            },
          }),
      }),
    });
    const err = await pkg.me(client).catch((e: unknown) => e);
    assert.ok(err instanceof pkg.TfaApiError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.retryAfter, 17);
    assert.deepEqual(err.fieldErrors, { '': ['Too many requests.'] });
    assert.equal(err.message, 'Too many requests.');
  });

  it('an answer that is not JSON (a proxy error page) is an error with the status, not a crash', async () => {
    const client = pkg.createClient({
      baseUrl: 'https://auth.example.com',
      fetch: async () => ({
        status: 502,
        ok: false,
        headers: { get: () => null },
        text: async () => '<html>Bad Gateway</html>',
      }),
    });
    const err = await pkg.me(client).catch((e: unknown) => e);
    assert.ok(err instanceof pkg.TfaApiError);
    assert.equal(err.status, 502);
    assert.equal(err.code, undefined);
  });
});
