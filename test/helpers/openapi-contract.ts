/**
 * The test suite's view of openapi.yaml. Import from here:
 *
 *   checkResponse({method, url, statusCode, headers, body})  one answer, throws ContractViolation
 *   installContractCheck(app)                                 every answer of an app (see contract-recorder.ts)
 *   documentedOperations()                                     [{method, path}] for route-drift tests
 *   compareRoutes(registered)                                  {undocumented, unimplemented}
 *
 * test/helpers/app.ts installs the check on every app it builds (rebuilds
 * included) and fails the test that caused a violation; a test that provokes
 * an undocumented answer on purpose asserts it in `t.contract` and clears it.
 */
import { documentedOperations, toFastifyPath } from './openapi-document.js';

export { checkResponse, ContractViolation } from './openapi-check.js';
export type { ResponseSample } from './openapi-check.js';
export { installContractCheck } from './contract-recorder.js';
export type { ContractCheck, ContractCheckOptions } from './contract-recorder.js';
export { documentedOperations, toFastifyPath, DOCUMENT_PATH } from './openapi-document.js';
export type { DocumentedOperation, HttpMethod } from './openapi-document.js';

export interface RegisteredRoute {
  method: string | string[];
  /** Fastify spelling: `/tf-devices/:id`. */
  url: string;
}

/**
 * Compares the routes an app registered (collect them with an `onRoute` hook)
 * with the document, both ways. HEAD and OPTIONS are ignored: Fastify adds HEAD
 * for every GET and @fastify/cors answers OPTIONS; neither is in the contract.
 */
export function compareRoutes(
  registered: readonly RegisteredRoute[],
  /** The listener whose operations to compare with: `api`, or `operator` (openapi.yaml `x-listener`). */
  listener = 'api',
): {
  undocumented: string[];
  unimplemented: string[];
} {
  const key = (method: string, url: string) => `${method.toUpperCase()} ${url}`;
  const implemented = new Set(
    registered.flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => key(m, r.url))),
  );
  for (const k of [...implemented]) if (/^(HEAD|OPTIONS) /.test(k)) implemented.delete(k);
  const documented = new Set(
    documentedOperations()
      .filter((o) => o.listener === listener)
      .map((o) => key(o.method, toFastifyPath(o.path))),
  );
  return {
    undocumented: [...implemented].filter((k) => !documented.has(k)).sort(),
    unimplemented: [...documented].filter((k) => !implemented.has(k)).sort(),
  };
}
