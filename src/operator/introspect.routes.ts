import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { asBody } from '../http/input.js';
import { introspect, type ResolveToken } from './introspection.service.js';

/**
 * RFC 7662 token introspection for backend services (README, "Operator API"):
 * `POST /introspect` with `token`, as a form (RFC 7662 §2.1) or JSON. The
 * answer is the RFC's object itself, not the envelope, so off-the-shelf
 * introspection clients (API gateways) read it; errors are envelopes as everywhere.
 * Not audited: it is called once per backend request, and changes nothing.
 */
export async function introspectRoutes(app: FastifyInstance, deps: { resolveToken: ResolveToken }): Promise<void> {
  app.post('/introspect', { config: { envelope: false } }, async (request) => {
    const token = asBody(request.body).token;
    if (token === undefined || token === null || token === '') throw new AppError('REQUIRED', { field: 'token' });
    if (typeof token !== 'string') throw new AppError('API_ERROR', { field: 'token' });
    return introspect(deps.resolveToken, token);
  });
}
