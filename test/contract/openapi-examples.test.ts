/**
 * Every example in openapi.yaml passes checkResponse. Redocly checks examples
 * too, with its own validator; this runs them through the one the test suite
 * uses, so the two cannot disagree unnoticed (they did once: Redocly misread
 * additionalProperties inside allOf).
 */
import { test } from 'node:test';
import { checkResponse, documentedOperations } from '../helpers/openapi-contract.js';
import { asObject, escapePointer, resolve } from '../helpers/openapi-document.js';

function examplesOf(media: Record<string, unknown>): Array<[string, unknown]> {
  const found: Array<[string, unknown]> = [];
  if (media.example !== undefined) found.push(['example', media.example]);
  for (const [name, ex] of Object.entries((media.examples ?? {}) as Record<string, { value?: unknown }>)) {
    found.push([name, ex.value]);
  }
  return found;
}

for (const { method, path } of documentedOperations()) {
  const operation = resolve(`/paths/${escapePointer(path)}/${method.toLowerCase()}`);
  for (const status of Object.keys(asObject(operation.object.responses, operation.pointer))) {
    const response = resolve(`${operation.pointer}/responses/${status}`);
    const content = (response.object.content ?? {}) as Record<string, Record<string, unknown>>;
    const json = content['application/json'];
    if (!json) continue;
    for (const [name, value] of examplesOf(json)) {
      test(`${method} ${path} ${status} example "${name}" passes the contract check`, () => {
        const headers = {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          ...(status === '429' ? { 'retry-after': '60' } : {}),
        };
        // Path templates are fine as URLs: `{x}` matches the `[^/]+` of the template.
        checkResponse({ method, url: path, statusCode: Number(status), headers, body: value });
      });
    }
  }
}
