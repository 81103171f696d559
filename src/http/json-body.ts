import type { FastifyInstance } from 'fastify';

/** 64 KiB: far above any request of this API, small enough to refuse junk cheaply (openapi.yaml, wire conventions). */
export const BODY_LIMIT = 64 * 1024;

/**
 * JSON only (openapi.yaml, wire conventions). Fastify's own parser (secure-json-parse, which refuses
 * __proto__ tricks) is kept; an empty body counts as `{}` because clients send
 * `POST /logout` with a JSON content type and nothing in it. text/plain is
 * removed so that anything but JSON gets 415.
 */
export function registerJsonBody(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, {});
    parse(request, body.toString(), done);
  });
}
