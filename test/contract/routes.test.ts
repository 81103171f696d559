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
import { createOperatorApp, OPERATOR_ENV, type OperatorApp } from '../helpers/operator.js';

/**
 * buildApp registers its routes before it returns, too early for an onRoute
 * hook added afterwards; Fastify announces each new instance on this channel
 * first, so the hook is in place before the first route.
 */
async function routesOf(env: Record<string, string>): Promise<RegisteredRoute[]> {
  let t: TestApp | undefined;
  try {
    return await routesRegisteredBy(async () => {
      t = await createTestApp(env);
    });
  } finally {
    await t?.close();
  }
}

/** The routes of every Fastify instance `build` creates. */
async function routesRegisteredBy(build: () => Promise<void>): Promise<RegisteredRoute[]> {
  const routes: RegisteredRoute[] = [];
  const init = channel('fastify.initialization');
  const collect = (message: unknown) =>
    (message as { fastify: FastifyInstance }).fastify.addHook(
      'onRoute',
      (r) => void routes.push({ method: r.method, url: r.url }),
    );
  init.subscribe(collect);
  try {
    await build();
  } finally {
    init.unsubscribe(collect);
  }
  return routes;
}

const ALL_FEATURES = {
  SECURITY_REGISTERABLE: 'true',
  SECURITY_REFRESH_TOKEN: 'true',
  SECURITY_MULTI_FACTOR_RECOVERY_CODES: 'true',
  SECURITY_TWO_FACTOR_RESCUE_EMAIL: 'true',
  SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: 'false',
  METRICS_ENABLED: 'true',
  METRICS_PORT: '0',
  CORS_ORIGINS: 'https://spa.example',
  SECURITY_WEBAUTHN: 'true',
  SECURITY_WAN_RP_ID: 'spa.example',
  SECURITY_WAN_ORIGINS: 'https://spa.example',
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
  assert.ok(unimplemented.includes('POST /wan-register'), 'SECURITY_WEBAUTHN off (the default) removes /wan-*');
});

test('the operator listener registers exactly the operations openapi.yaml puts on it (x-listener: operator)', async () => {
  // The API's routes are compared with the `api` operations above, so an operator route there is "undocumented".
  const t = await createTestApp(OPERATOR_ENV);
  let op: OperatorApp | undefined;
  let routes: RegisteredRoute[];
  try {
    routes = await routesRegisteredBy(async () => {
      op = await createOperatorApp(t);
    });
  } finally {
    await op?.close();
    await t.close();
  }
  assert.ok(routes.some((r) => r.url === '/introspect'));
  const { undocumented, unimplemented } = compareRoutes(routes, 'operator');
  assert.deepEqual(undocumented, [], `operator routes missing from openapi.yaml: ${undocumented.join(', ')}`);
  assert.deepEqual(unimplemented, [], `documented for the operator listener but not registered: ${unimplemented}`);
});
