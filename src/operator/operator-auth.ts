import type { FastifyInstance, FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { AppError } from '../errors.js';
import { sendError } from '../http/envelope.js';
import type { Operator } from './operator.js';
import { operatorFor, type OperatorToken } from './operator-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the operator token that authenticated this request (operator listener only). */
    operatorName: string | null;
  }
}

/**
 * Every route of the operator listener wants `Authorization: Bearer <token>`
 * naming a configured operator token (operator-tokens.ts compares in constant
 * time). Anything else is 401 UNAUTHENTICATED in the envelope, before routing
 * reaches a handler; the refusal is logged (without the token: logger.ts redacts it).
 */
export function registerOperatorAuth(app: FastifyInstance, tokens: readonly OperatorToken[]): void {
  app.decorateRequest('operatorName', null);
  app.addHook('onRequest', async (request, reply) => {
    // A path with no route is the not-found handler's 404 (openapi.yaml, x-unmatched-responses): the paths are public.
    if (request.routeOptions.url === undefined) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ ]+(\S{1,512})\s*$/i.exec(header) : null;
    const name = match?.[1] ? operatorFor(tokens, match[1]) : null;
    if (name) {
      request.operatorName = name;
      return;
    }
    request.log.warn({ presented: header !== undefined }, 'operator API: refused a request without a valid token');
    reply.header('WWW-Authenticate', 'Bearer realm="tfa-service operator API"');
    return sendError(request, reply, new AppError('UNAUTHENTICATED'));
  });
}

/** The services' view of the calling operator. */
export function operatorOf(request: FastifyRequest): Operator {
  if (!request.operatorName) throw new AppError('UNAUTHENTICATED');
  return { name: request.operatorName, audit: auditContext(request) };
}
