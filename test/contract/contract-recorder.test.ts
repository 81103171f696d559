/**
 * installContractCheck sees every answer of a Fastify app (routes in plugins,
 * the not-found handler) and makes the test fail: through
 * assertNoViolations() and, as a fail-safe, through app.close().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { installContractCheck } from '../helpers/openapi-contract.js';

function buildTinyApp(): FastifyInstance {
  const app = Fastify();
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  // An encapsulated onSend hook runs after any root hook, so the check must
  // look at the answer only once it is complete.
  void app.register(async (plugin) => {
    plugin.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });
    plugin.get('/tf-devices', async () => ({ meta: { code: 200 }, response: { csrf_token: 'c', devices: [] } }));
  });
  // An early reply from an onRequest hook is checked too.
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.origin === 'https://evil.example') {
      await reply
        .code(403)
        .header('cache-control', 'no-store')
        .send({ meta: { code: 403 }, response: { errors: ['x'], field_errors: {}, error_code: 'ORIGIN_NOT_ALLOWED' } });
    }
  });
  void app.register(async (plugin) => {
    plugin.get('/login', async () => ({
      meta: { code: 200 },
      response: { csrf_token: 'c', identity_attributes: ['email'] },
    }));
    // Drift: a field the document does not list.
    plugin.get('/me', async () => ({
      meta: { code: 200 },
      response: { csrf_token: 'c', user: { email: 'a@b.c', id: 7 } },
    }));
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({
      meta: { code: 404 },
      response: { errors: ['Not found.'], field_errors: { '': ['Not found.'] }, error_code: 'NOT_FOUND' },
    });
  });
  return app;
}

test('conforming answers leave no violation', async () => {
  const app = buildTinyApp();
  const check = installContractCheck(app);
  assert.equal((await app.inject('/healthz')).statusCode, 200);
  assert.equal((await app.inject('/tf-devices')).statusCode, 200);
  assert.equal((await app.inject('/login')).statusCode, 200);
  assert.equal((await app.inject('/unknown')).statusCode, 404);
  check.assertNoViolations();
  await app.close();
});

test('a drifting answer is reported, and the answer itself is left alone', async () => {
  const app = buildTinyApp();
  const check = installContractCheck(app);
  const res = await app.inject('/me');
  assert.equal(res.statusCode, 200);
  assert.equal(check.violations.length, 1);
  assert.throws(() => check.assertNoViolations(), /GET \/me → 200[\s\S]*additional properties \(id\)/);
  // The 403 of an onRequest hook is checked: an empty field_errors is fine,
  // but POST /login documents 403 and GET /login does not.
  await app.inject({ method: 'GET', url: '/login', headers: { origin: 'https://evil.example' } });
  assert.throws(() => check.assertNoViolations(), /status 403 is not documented for GET \/login/);
  assert.equal(check.violations.length, 0, 'assertNoViolations forgets what it reported');
  await app.close();
});

test('closing the app fails while violations are pending', async () => {
  const app = buildTinyApp();
  installContractCheck(app);
  await app.inject('/me');
  await assert.rejects(app.close(), /responses that break openapi\.yaml/);
});

test('installing on a ready app is refused with a clear message', async () => {
  const app = buildTinyApp();
  await app.ready();
  assert.throws(() => installContractCheck(app), /must run before the app is ready/);
  await app.close();
});

test('answers over a real socket are checked the same way', async () => {
  const app = buildTinyApp();
  const check = installContractCheck(app);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    assert.equal((await fetch(`${address}/login`)).status, 200);
    await (await fetch(`${address}/me`)).text();
    // onResponse runs on the server's 'finish'; let it land before looking.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(check.violations.length, 1);
    assert.match(check.violations[0]?.message ?? '', /GET \/me → 200/);
    check.clear();
  } finally {
    await app.close();
  }
});
