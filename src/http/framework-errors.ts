import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { envelope, errorResponse, sendError } from './envelope.js';
import { toAppError } from './errors-plugin.js';

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook
 * runs (a path parameter over maxParamLength: 414, an undecodable URL). Without
 * it Fastify writes its own JSON, without our headers; with it the answer is
 * the envelope like every other (openapi.yaml).
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, toAppError(error));
}

/** Node's HTTP parser errors (Fastify's default clientErrorHandler, with our body and headers). */
const PARSER_ERRORS: Record<string, AppError['key']> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

/**
 * Fastify's `clientErrorHandler`: a request Node could not parse never becomes
 * a Fastify request, so the envelope is written on the socket here, with the
 * headers every answer carries.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
  // A connection the client reset, or one already gone: there is nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const appErr = new AppError(PARSER_ERRORS[err.code ?? ''] ?? 'API_ERROR');
  const body = JSON.stringify(envelope(appErr.status, errorResponse(appErr)));
  socket.end(
    `HTTP/1.1 ${appErr.status} ${STATUS_CODES[appErr.status] ?? 'Bad Request'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'Cache-Control: no-store\r\n' +
      `X-Request-Id: ${randomUUID()}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
