/**
 * Run as a child process (test/unit/lazy-modules.test.ts): loads the modules
 * `npm start` loads before it listens (the app, the configuration, the
 * database layer) and prints, as JSON, every npm package that got loaded.
 * ES modules are seen by a resolve hook, CommonJS ones in require's cache.
 */
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const seen = new Set<string>();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url: string) => seen.add(url));
const hook = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, {
  data: { port: port2 },
  transferList: [port2],
});

const root = new URL('../../src/', import.meta.url);
await import(new URL('app.ts', root).href);
await import(new URL('config.ts', root).href);
await import(new URL('db/database.ts', root).href);
// The hook's messages arrive asynchronously: let the last of them in.
await new Promise((resolve) => setTimeout(resolve, 200));
port1.close();

const files = [...seen, ...Object.keys(createRequire(import.meta.url).cache)];
const packages = new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean));
console.log(JSON.stringify([...packages].sort()));
