/**
 * The routes the app registers and the operations openapi.yaml documents are
 * the same set (STYLE habit 12), with every optional feature switched on, so
 * that no route ships undocumented and no documented operation is missing.
 * HEAD (Fastify adds one per GET) and OPTIONS (CORS preflight) are outside
 * the contract.
 */
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { compareRoutes, type RegisteredRoute } from '../helpers/openapi-contract.js';

/**
 * buildApp registers its routes before it returns, too early for an onRoute
 * hook added afterwards; Fastify announces each new instance on this channel
 * first, so the hook is in place before the first route.
 */
async function routesOf(env: Record<string, string>): Promise<RegisteredRoute[]> {
  const routes: RegisteredRoute[] = [];
  const init = channel('fastify.initialization');
  const collect = (message: unknown) =>
    (message as { fastify: FastifyInstance }).fastify.addHook(
      'onRoute',
      (r) => void routes.push({ method: r.method, url: r.url }),
    );
  init.subscribe(collect);
  let t: TestApp | undefined;
  try {
    t = await createTestApp(env);
  } finally {
    init.unsubscribe(collect);
    await t?.close();
  }
  return routes;
}

const ALL_FEATURES = {
  SECURITY_REGISTERABLE: 'true',
  SECURITY_MULTI_FACTOR_RECOVERY_CODES: 'true',
  SECURITY_TWO_FACTOR_RESCUE_EMAIL: 'true',
  SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
  METRICS_ENABLED: 'true',
  METRICS_PORT: '0',
  CORS_ORIGINS: 'https://spa.example',
  SECURITY_UNIFIED_SIGNIN: 'true',
};

test('with every feature on, the registered routes are exactly the documented operations', async () => {
  const routes = await routesOf(ALL_FEATURES);
  assert.ok(
    routes.some((r) => r.url === '/login'),
    'the onRoute hook saw the routes',
  );
  const { undocumented, unimplemented } = compareRoutes(routes);
  assert.deepEqual(undocumented, [], `routes missing from openapi.yaml: ${undocumented.join(', ')}`);
  assert.deepEqual(unimplemented, [], `documented in openapi.yaml but not registered: ${unimplemented.join(', ')}`);
});

test('with optional features off, their routes are gone (they answer 404, as documented) and nothing undocumented appears', async () => {
  const routes = await routesOf({
    SECURITY_REGISTERABLE: 'false',
    SECURITY_MULTI_FACTOR_RECOVERY_CODES: 'false',
    METRICS_ENABLED: 'false',
  });
  const { undocumented, unimplemented } = compareRoutes(routes);
  assert.deepEqual(undocumented, []);
  assert.ok(unimplemented.includes('POST /register'), 'SECURITY_REGISTERABLE=false removes POST /register');
  assert.ok(unimplemented.includes('POST /us-signin'), 'unified sign-in is off by default (SECURITY_UNIFIED_SIGNIN)');
});
