import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, ValidationError } from '../errors.js';
import { sendError } from './envelope.js';
import { discardSessionChange, saveSessionChange } from './session.js';

/** Fastify's own error codes for what a client sent, mapped to the catalogue. */
const CLIENT_ERRORS: Record<string, AppError['key']> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_BAD_URL: 'NOT_FOUND',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'API_ERROR',
};

/** Unexpected errors with their stack; an unreachable database as a warning (logger.ts keeps its SQLSTATE, drops its parameters). */
function logServerError(request: FastifyRequest, err: unknown, appErr: AppError | ValidationError): void {
  if (!(appErr instanceof AppError) || appErr.status < 500) return;
  if (appErr.key === 'INTERNAL_ERROR') request.log.error({ err }, 'unhandled error');
  else request.log.warn({ err }, appErr.key);
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

  app.setErrorHandler(async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    let cause = err;
    let appErr = toAppError(err);
    if (appErr instanceof AppError && appErr.status >= 500 && !(err instanceof AppError)) {
      // The request's work did not complete (its transaction rolled back): its session
      // change must not be written either, and a failed write of it in onSend must not
      // be tried again while answering, or Fastify would answer outside the envelope.
      discardSessionChange(request);
    } else {
      // A 4xx answer still carries its session change (a voided pending sign-in, say).
      // Written here, a failure becomes this answer; in onSend it would escape the envelope.
      try {
        await saveSessionChange(request);
      } catch (saveErr) {
        cause = saveErr;
        appErr = toAppError(saveErr);
        discardSessionChange(request);
      }
    }
    logServerError(request, cause, appErr);
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
