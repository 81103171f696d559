import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { sendError } from './envelope.js';

/**
 * While the app closes (SIGTERM, README "Shutdown"), a request that arrives on
 * a keep-alive connection is turned away with 503 SERVICE_UNAVAILABLE in the
 * envelope. Fastify's own `return503OnClosing` answer is raw JSON without our
 * headers, so it is off (app.ts) and this hook answers instead. Probes and
 * other routes outside the envelope still run: /readyz says "unavailable" itself.
 */
export function registerDrain(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing || request.routeOptions.config.envelope === false) return;
    reply.header('Connection', 'close');
    return sendError(request, reply, new AppError('SERVICE_UNAVAILABLE', { retryAfter: 5 }));
  });
}
