import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ValidationError } from '../errors.js';
import { sendError } from './envelope.js';

/** Fastify's own error codes for what a client sent, mapped to the catalogue. */
const CLIENT_ERRORS: Record<string, AppError['key']> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_BAD_URL: 'NOT_FOUND',
  FST_ERR_ASYNC_CONSTRAINT: 'API_ERROR',
};

/** Connection-level failures: the database is down, not the request wrong (openapi.yaml: 503). */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P03',
  '53300',
  '08006',
  '08001',
  '08004',
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && UNAVAILABLE.has(e.code)) return true;
  const msg = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error/i.test(
    msg,
  );
}

export function toAppError(err: unknown): AppError | ValidationError {
  if (err instanceof AppError || err instanceof ValidationError) return err;
  const fe = err as Partial<FastifyError>;
  if (fe.code && CLIENT_ERRORS[fe.code]) return new AppError(CLIENT_ERRORS[fe.code]!);
  if (err instanceof SyntaxError && fe.statusCode === 400) return new AppError('MALFORMED_JSON');
  if (isDatabaseUnavailable(err)) return new AppError('SERVICE_UNAVAILABLE', { retryAfter: 5 });
  if (fe.statusCode === 429) return new AppError('RATE_LIMITED');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return new AppError('API_ERROR', { status: fe.statusCode });
  return new AppError('INTERNAL_ERROR');
}

/**
 * The one place errors become responses (STYLE habit 7). Unexpected errors are
 * logged with the request id and answered without internals.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  const routes: Array<{ method: string; pattern: RegExp }> = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(
      `^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]\w*/g, '[^/]+')}/?$`,
    );
    for (const m of methods) routes.push({ method: m, pattern });
  });

  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appErr = toAppError(err);
    if (appErr instanceof AppError && appErr.status >= 500) {
      if (appErr.key === 'INTERNAL_ERROR') request.log.error({ err }, 'unhandled error');
      else
        request.log.warn(
          { err: { message: (err as Error).message, code: (err as { code?: string }).code } },
          appErr.key,
        );
    }
    return sendError(request, reply, appErr);
  });

  // Fastify answers 404 for a known path with the wrong method; openapi.yaml (x-unmatched-responses) wants 405 there.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const allowed = [
      ...new Set(routes.filter((r) => r.pattern.test(path) && r.method !== request.method).map((r) => r.method)),
    ];
    if (allowed.length && !routes.some((r) => r.method === request.method && r.pattern.test(path))) {
      reply.header('Allow', allowed.join(', '));
      return sendError(request, reply, new AppError('METHOD_NOT_ALLOWED'));
    }
    return sendError(request, reply, new AppError('NOT_FOUND'));
  });
}
