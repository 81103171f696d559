import type { paths } from './generated/api.js';

/**
 * Types derived from openapi.yaml's generated `paths`: which path takes which
 * method, its request body, path parameters and the `response` of its 200
 * envelope. An endpoint added to openapi.yaml is callable, fully typed, with
 * `client.call(...)` as soon as `npm run gen:client` has run.
 */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

export type PathsFor<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends { responses: unknown } ? P : never;
}[keyof paths];

type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;

/** The `response` member of the 200 envelope. */
export type Ok<P extends keyof paths, M extends Method> =
  Json<Op<P, M> extends { responses: { 200: infer R } } ? R : never> extends { response: infer B } ? B : never;

export type RequestBody<P extends keyof paths, M extends Method> =
  Op<P, M> extends { requestBody: { content: { 'application/json': infer B } } }
    ? B
    : Op<P, M> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? B | undefined
      : undefined;

export type PathParams<P extends keyof paths, M extends Method> =
  Op<P, M> extends { parameters: { path: infer X } } ? X : undefined;

export type QueryParams<P extends keyof paths, M extends Method> =
  Op<P, M> extends { parameters: { query?: infer Q } } ? Q : undefined;

export interface CallOptions<P extends keyof paths, M extends Method> {
  body?: RequestBody<P, M>;
  params?: PathParams<P, M>;
  query?: QueryParams<P, M>;
}
