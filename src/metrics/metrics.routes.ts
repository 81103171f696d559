import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { StartupError } from '../startup-error.js';
import type { Metrics } from './metrics.js';

/**
 * Counts every answered request and serves GET /metrics (Prometheus text, no
 * envelope). By default on a listener of its own (METRICS_PORT on METRICS_HOST,
 * 9464 on loopback), opened when the app is ready and closed with it, so the
 * public port never shows it. With METRICS_PORT=0 it is a route of the API that
 * wants `Authorization: Bearer <METRICS_TOKEN>`. Registered on the root instance
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
    const expected = tokenDigest(`Bearer ${config.METRICS_TOKEN ?? ''}`);
    app.get('/metrics', { config: { envelope: false } }, async (request, reply) => {
      if (!timingSafeEqual(tokenDigest(request.headers.authorization ?? ''), expected)) {
        throw new AppError('UNAUTHENTICATED');
      }
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
    return;
  }

  const server = metricsServer(metrics);
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenProblem(err, config)));
      server.listen({ port: config.METRICS_PORT, host: config.METRICS_HOST }, () => {
        server.removeAllListeners('error');
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

/** Equal-length digests, so comparing them takes the same time whatever was sent. */
function tokenDigest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A port in use or not ours to take is the operator's to fix: one line, no stack. */
function listenProblem(err: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.METRICS_HOST}:${config.METRICS_PORT}`;
  if (err.code === 'EADDRINUSE')
    return new StartupError(
      `METRICS_PORT ${config.METRICS_PORT} is in use on ${config.METRICS_HOST} (another instance or exporter?): ` +
        'set METRICS_PORT to a free port, or 0 to serve /metrics on the API port with METRICS_TOKEN',
    );
  if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL')
    return new StartupError(`metrics cannot listen on ${where} (${err.code}): check METRICS_HOST and METRICS_PORT`);
  return err;
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
