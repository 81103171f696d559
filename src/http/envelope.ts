import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ValidationError, formatMessage } from '../errors.js';

export interface Envelope {
  meta: { code: number };
  response: Record<string, unknown>;
}

/** Bodies already wrapped, so the success hook leaves them alone. */
const wrapped = new WeakSet<object>();

export function envelope(code: number, response: Record<string, unknown>): Envelope {
  const body = { meta: { code }, response };
  wrapped.add(body);
  return body;
}

export function isEnvelope(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && wrapped.has(payload);
}

/** `response` of an error: human messages, per-field messages, and the stable key (openapi.yaml, wire conventions). */
export function errorResponse(err: AppError | ValidationError): Record<string, unknown> {
  if (err instanceof ValidationError) {
    const field_errors: Record<string, string[]> = {};
    const errors: string[] = [];
    for (const f of err.fields) {
      const msg = formatMessage(f.key, f.params);
      (field_errors[f.field] ??= []).push(msg);
      errors.push(msg);
    }
    return { errors, field_errors, error_code: err.fields[0]?.key ?? 'API_ERROR' };
  }
  return {
    errors: [err.message],
    field_errors: { [err.field]: [err.message] },
    error_code: err.key,
    ...err.options.extra,
  };
}

/** Sends an AppError as the envelope; used by the error handler and by hooks that answer early. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: AppError | ValidationError): FastifyReply {
  const status = err instanceof AppError ? err.status : 400;
  // Every 429 says when to come back (openapi.yaml). TWO_FACTOR_TOO_MANY_ATTEMPTS has no
  // wait of its own (the cure is to sign in again), so it gets the smallest, 1 s.
  const retryAfter = err instanceof AppError ? (err.options.retryAfter ?? (status === 429 ? 1 : undefined)) : undefined;
  if (retryAfter !== undefined) {
    reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
  }
  // Set here too, not only by the onRequest hooks: answers Fastify makes before any hook ran
  // (framework-errors.ts) must carry them as well.
  return reply
    .code(status)
    .header('Cache-Control', 'no-store')
    .header('X-Request-Id', request.id)
    .send(envelope(status, errorResponse(err)));
}
