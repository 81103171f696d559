import type { paths } from './generated/api.js';
import { CookieJar, splitSetCookie } from './cookie-jar.js';
import { errorFromEnvelope, TfaNetworkError } from './errors.js';
import { defaultFetch, inBrowser, type FetchLike, type FetchResponse } from './http.js';
import type { CallOptions, Method, Ok, PathsFor } from './operations.js';

export interface ClientOptions {
  /** The service's origin, e.g. `https://auth.example.com` (no trailing path). */
  baseUrl: string;
  /**
   * `cookie` (default): the session cookie, with the CSRF token handled here.
   * `token`: the sign-in asks for an auth token (`?include_auth_token`), which
   * is then sent in `tokenHeader` on every call (openapi.yaml, Authentication).
   */
  mode?: 'cookie' | 'token';
  /** A token kept from an earlier sign-in (token mode). */
  token?: string | null;
  /** Where the token goes. Default `Authentication-Token`; `{name: 'Authorization', scheme: 'Bearer'}` for Bearer. */
  tokenHeader?: { name: string; scheme?: string };
  /** Called whenever the token changes (new sign-in, sign-out), to persist it. */
  onTokenChange?: (token: string | null) => void;
  fetch?: FetchLike;
  /**
   * Keep cookies in memory and send them ourselves. Default: on outside a
   * browser (Node has no cookie store), off in a page (the browser keeps them).
   */
  cookieJar?: boolean;
}

const STATE_CHANGING = new Set<Method>(['post', 'put', 'patch', 'delete']);
const CSRF_REFUSED = new Set(['CSRF_TOKEN_MISSING', 'CSRF_TOKEN_INVALID']);

/**
 * The transport every flow goes through: one origin, the envelope unwrapped,
 * errors thrown as TfaApiError. In cookie mode the CSRF token of the latest
 * answer goes back in X-CSRF-Token: it is an HMAC of the session id and so
 * changes on each sign-in step (README, Decisions), which is why it is taken
 * from every answer rather than fetched once.
 */
export class TfaClient {
  readonly mode: 'cookie' | 'token';
  private readonly base: string;
  private readonly fetcher: FetchLike;
  private readonly jar: CookieJar | null;
  private readonly tokenHeader: { name: string; scheme?: string };
  private readonly onTokenChange: ((token: string | null) => void) | undefined;
  private csrf = '';
  private tokenValue: string | null;

  constructor(options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.mode = options.mode ?? 'cookie';
    this.fetcher = options.fetch ?? defaultFetch();
    this.jar = (options.cookieJar ?? !inBrowser()) ? new CookieJar(this.base || 'http://localhost') : null;
    this.tokenHeader = options.tokenHeader ?? { name: 'Authentication-Token' };
    this.onTokenChange = options.onTokenChange;
    this.tokenValue = options.token ?? null;
  }

  get token(): string | null {
    return this.tokenValue;
  }

  /** The CSRF token the next state-changing call will send ('' before the first answer). */
  get csrfToken(): string {
    return this.csrf;
  }

  /**
   * Calls one operation of openapi.yaml and returns the `response` of its 200
   * envelope; any other status throws TfaApiError. A state-changing call in
   * cookie mode first fetches a CSRF token if none is known (`GET /login`)
   * and, if the service refuses the token (it rotated elsewhere, e.g. in
   * another tab), fetches a fresh one and tries once more.
   */
  async call<M extends Method, P extends PathsFor<M>>(
    method: M,
    path: P,
    options: CallOptions<P, M> = {},
  ): Promise<Ok<P, M>> {
    const needsCsrf = STATE_CHANGING.has(method) && !this.usesToken();
    if (needsCsrf && !this.csrf) await this.refreshCsrf();
    try {
      return await this.send(method, path, options);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!needsCsrf || code === undefined || !CSRF_REFUSED.has(code)) throw err;
      await this.refreshCsrf();
      return this.send(method, path, options);
    }
  }

  /**
   * Forgets the token and the CSRF token after a sign-out. Cookies stay: the
   * service cleared the session cookie itself, and a remembered device's
   * `tf_validity` must outlive the session.
   */
  forgetSession(): void {
    this.csrf = '';
    this.setToken(null);
  }

  setToken(token: string | null): void {
    if (token === this.tokenValue) return;
    this.tokenValue = token;
    this.onTokenChange?.(token);
  }

  /** The query that makes a sign-in step return an auth token, in token mode. */
  signInQuery(): { include_auth_token: string } | undefined {
    return this.mode === 'token' ? { include_auth_token: 'true' } : undefined;
  }

  private usesToken(): boolean {
    return this.mode === 'token' && this.tokenValue !== null;
  }

  private async refreshCsrf(): Promise<void> {
    await this.send('get', '/login', {});
  }

  private url(path: string, options: { params?: unknown; query?: unknown }): string {
    const params = (options.params ?? {}) as Record<string, string>;
    const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new TypeError(`missing path parameter ${name} for ${path}`);
      return encodeURIComponent(value);
    });
    const query = Object.entries((options.query ?? {}) as Record<string, string>)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    return `${this.base}${filled}${query ? `?${query}` : ''}`;
  }

  private headers(method: Method, hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (hasBody) headers['Content-Type'] = 'application/json';
    if (this.usesToken()) {
      const { name, scheme } = this.tokenHeader;
      headers[name] = scheme ? `${scheme} ${this.tokenValue}` : this.tokenValue!;
    } else if (STATE_CHANGING.has(method) && this.csrf) {
      headers['X-CSRF-Token'] = this.csrf;
    }
    const cookie = this.jar?.header();
    if (cookie) headers['Cookie'] = cookie;
    return headers;
  }

  private async send<M extends Method, P extends keyof paths>(
    method: M,
    path: P,
    options: { body?: unknown; params?: unknown; query?: unknown },
  ): Promise<never> {
    // A body on every state change: the service wants JSON on POST and DELETE alike (openapi.yaml, Wire conventions).
    const body = options.body ?? (STATE_CHANGING.has(method) ? {} : undefined);
    let res: FetchResponse;
    try {
      res = await this.fetcher(this.url(path, options), {
        method: method.toUpperCase(),
        headers: this.headers(method, body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'include',
      });
    } catch (err) {
      throw new TfaNetworkError(`${method.toUpperCase()} ${path}: ${(err as Error).message}`, err);
    }
    this.jar?.store(res.headers.getSetCookie?.() ?? splitSetCookie(res.headers.get('set-cookie')));
    const text = await res.text();
    const data = parseJson(text);
    const response = (data as { response?: Record<string, unknown> } | null)?.response;
    if (typeof response?.csrf_token === 'string') this.csrf = response.csrf_token;
    if (!res.ok) throw errorFromEnvelope(res.status, data, res.headers.get('retry-after'));
    if (response === undefined)
      throw new TfaNetworkError(`${method.toUpperCase()} ${path}: the answer is not an envelope`);
    const user = response.user as { authentication_token?: unknown } | undefined;
    if (typeof user?.authentication_token === 'string') this.setToken(user.authentication_token);
    return response as never;
  }
}

/** The body as JSON, or null when it is empty or not JSON (a proxy's error page, say). */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export function createClient(options: ClientOptions): TfaClient {
  return new TfaClient(options);
}
