import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Metrics } from './metrics.js';

/**
 * Counts every answered request and serves GET /metrics (Prometheus text, no
 * envelope). With METRICS_PORT=0 it is a route of the API; otherwise it gets a
 * listener of its own, opened when the app is ready and closed with it, so a
 * firewall can keep it off the public port. Registered on the root instance
 * (not as an encapsulated plugin) so the hook sees every route.
 */
export function registerMetrics(app: FastifyInstance, deps: { config: Config; metrics: Metrics }): void {
  const { config, metrics } = deps;
  if (!config.METRICS_ENABLED) return;

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: /tf-devices/123 and /tf-devices/456 are one series.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.request({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
  });

  if (config.METRICS_PORT === 0) {
    app.get('/metrics', { config: { envelope: false } }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
    return;
  }

  const server = metricsServer(metrics);
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: config.METRICS_PORT, host: config.HOST }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { address, port } = server.address() as AddressInfo;
    app.log.info({ address, port }, 'metrics listening');
  });
  app.addHook('onClose', async () => {
    if (!server.listening) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** The separate listener: one path, one method, nothing else to attack. */
function metricsServer(metrics: Metrics): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
}
