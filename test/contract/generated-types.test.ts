/**
 * packages/client/src/generated/api.ts is generated from openapi.yaml
 * (`npm run gen:client`) and committed; the client package and the test
 * helpers both use it. This fails when it is stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { components } from '../../packages/client/src/generated/api.js';
import { checkResponse } from '../helpers/openapi-contract.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'node_modules/openapi-typescript/bin/cli.js');

test('the committed API types match openapi.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-types-'));
  try {
    const out = join(dir, 'api.d.ts');
    const run = spawnSync(process.execPath, [cli, 'openapi.yaml', '-o', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      readFileSync(join(root, 'packages/client/src/generated/api.ts'), 'utf8'),
      readFileSync(out, 'utf8'),
      'packages/client/src/generated/api.ts is stale: run npm run gen:client',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a value typed with the generated types passes the contract check', () => {
  // If the types and the schemas disagreed, this would fail to compile or to check.
  const body: components['schemas']['LoginResultEnvelope'] = {
    meta: { code: 200 },
    response: { csrf_token: 'c', tf_required: true, tf_state: 'ready', tf_primary_method: 'email', tf_method: 'email' },
  };
  checkResponse({
    method: 'POST',
    url: '/login',
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body,
  });
});
