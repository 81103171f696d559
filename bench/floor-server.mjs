// The floor: what a Node process on this machine costs per GET /me when it does
// nothing but answer, measured by the same load generator as the service
// (`npm run bench -- --scenarios floor`, BENCHMARKS.md). `node`: node:http and a
// fixed answer; `fastify`: the same Fastify version as the service, one route,
// no plugins. The answer has the size and headers of the service's GET /me, and
// the process runs with the production command's flags. No database, no session:
// whatever the service spends beyond these figures is its own work.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import Fastify from 'fastify';

const mode = process.argv[2];
const port = Number(process.env.PORT);
const host = process.env.HOST ?? '127.0.0.1';
const answer = {
  meta: { code: 200 },
  response: {
    user: { email: 'session-000@bench.example' },
    id: 1,
    roles: [],
    tf_primary_method: null,
    tf_required: false,
    tf_authenticated_at: null,
    authenticated_at: '2026-12-06T06:00:00.000Z',
    authn_methods: ['password'],
    aal: 'aal1',
    csrf_token: 'pTj3tM2w1l9n6m0b5xY8rK4sQ7vZ2cE1hG6jL0oP3uA',
  },
};
const headers = () => ({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-request-id': randomUUID(),
});

if (mode === 'node') {
  const body = JSON.stringify(answer);
  http
    .createServer((req, res) => {
      if (req.url === '/readyz') return res.writeHead(200, headers()).end('{"status":"ok"}');
      if (typeof req.headers.cookie !== 'string') return res.writeHead(401, headers()).end('{}');
      res.writeHead(200, headers()).end(body);
    })
    .listen(port, host);
} else if (mode === 'fastify') {
  const app = Fastify({ logger: false });
  app.get('/readyz', async () => ({ status: 'ok' }));
  app.get('/me', async (request, reply) => {
    if (typeof request.headers.cookie !== 'string') return reply.code(401).send({});
    reply.headers(headers());
    return answer;
  });
  await app.listen({ port, host });
} else {
  throw new Error(`floor-server: mode is node or fastify, not ${mode}`);
}
process.on('SIGTERM', () => process.exit(0));
