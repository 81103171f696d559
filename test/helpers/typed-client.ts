/**
 * A tiny fetch client typed by the generated `paths` (packages/client/src/generated/api.ts,
 * from openapi.yaml): the path, method, request body, query and path
 * parameters must be documented to compile, and each answer is a union of the
 * documented statuses with their body types. It keeps cookies and the latest
 * csrf_token like a browser SPA would, over a real socket.
 */
import { AssertionError } from 'node:assert';
import type { paths } from '../../packages/client/src/generated/api.js';

type Method = 'get' | 'post' | 'delete';

/** Paths that document `method`. */
type PathWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, infer O> ? (O extends object ? P : never) : never;
}[keyof paths];
type Operation<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;

type JsonBody<R> = R extends { content: { 'application/json': infer J } }
  ? J
  : R extends { content: object }
    ? string
    : undefined;
type Responses<O> = O extends { responses: infer R } ? R : never;
type RequestJson<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type PathParams<O> = O extends { parameters: { path: infer PP } } ? PP : never;

/** One documented answer: its status and the body the document gives it. */
export type Answer<O> = {
  [S in keyof Responses<O>]: { status: S; body: JsonBody<Responses<O>[S]>; headers: Headers };
}[keyof Responses<O>];

export type CallOptions<O> = {
  query?: Query<O>;
  headers?: Record<string, string>;
} & (O extends { requestBody: object } ? { body: RequestJson<O> } : { body?: RequestJson<O> }) &
  ([PathParams<O>] extends [never] ? { params?: never } : { params: PathParams<O> });

export class TypedClient {
  private readonly cookies = new Map<string, string>();
  csrf: string | undefined;

  constructor(private readonly base: string) {}

  async call<M extends Method, P extends PathWith<M>>(
    method: M,
    path: P,
    options: CallOptions<Operation<P, M>>,
  ): Promise<Answer<Operation<P, M>>> {
    const {
      query,
      headers = {},
      body,
      params,
    } = options as { query?: object; headers?: Record<string, string>; body?: unknown; params?: object };
    let url = String(path).replace(/\{([^}]+)\}/g, (_, name: string) =>
      encodeURIComponent(String((params as Record<string, unknown>)[name])),
    );
    const search = new URLSearchParams(
      Object.entries(query ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    if (search) url += `?${search}`;
    const sent: Record<string, string> = { ...headers };
    if (this.cookies.size) sent.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf && method !== 'get') sent['x-csrf-token'] = this.csrf;
    if (body !== undefined) sent['content-type'] = 'application/json';
    const res = await fetch(this.base + url, {
      method: method.toUpperCase(),
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    this.keepCookies(res.headers.getSetCookie());
    const text = await res.text();
    const json: unknown = res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text;
    const token = (json as { response?: { csrf_token?: unknown } } | null)?.response?.csrf_token;
    if (typeof token === 'string' && token !== '') this.csrf = token;
    return { status: res.status, body: json, headers: res.headers } as Answer<Operation<P, M>>;
  }

  private keepCookies(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = attributes.some(
        (a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()),
      );
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** Narrows an answer to one documented status, or fails with what came instead. */
export function expectStatus<A extends { status: unknown; body: unknown }, const S extends A['status']>(
  answer: A,
  status: S,
): Extract<A, { status: S }> {
  if (answer.status !== status) {
    throw new AssertionError({
      message: `expected ${String(status)}, got ${String(answer.status)}: ${JSON.stringify(answer.body)}`,
      actual: answer.status,
      expected: status,
    });
  }
  return answer as Extract<A, { status: S }>;
}
