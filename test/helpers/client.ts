import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A browser-like client over inject(): keeps cookies between requests and the
 * latest csrf_token, and sends JSON. Tests read status, envelope and cookies.
 */
export class Client {
  cookies = new Map<string, string>();
  csrf: string | undefined;
  headers: Record<string, string> = {};

  constructor(private readonly app: () => FastifyInstance) {}

  async request(
    method: string,
    url: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<LightMyRequestResponse & { data: any }> {
    const headers: Record<string, string> = { ...this.headers, ...extraHeaders };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf && method !== 'GET' && !('x-csrf-token' in headers)) headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await this.app().inject({
      method: method as 'GET',
      url,
      headers,
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    for (const c of res.cookies as Array<{ name: string; value: string; expires?: Date; maxAge?: number }>) {
      const expired = c.value === '' || (c.expires && c.expires.getTime() <= Date.now()) || c.maxAge === 0;
      if (expired) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    let data: any;
    try {
      data = JSON.parse(res.body);
    } catch {
      data = undefined;
    }
    const token = data?.response?.csrf_token;
    if (typeof token === 'string' && token !== '') this.csrf = token;
    return Object.assign(res, { data });
  }

  get(url: string, headers?: Record<string, string>) {
    return this.request('GET', url, undefined, headers);
  }
  post(url: string, body: unknown = {}, headers?: Record<string, string>) {
    return this.request('POST', url, body, headers);
  }
  delete(url: string, headers?: Record<string, string>) {
    return this.request('DELETE', url, undefined, headers);
  }

  /** Signs in with a password; returns the response. */
  login(email: string, password: string, extra: Record<string, unknown> = {}, query = '') {
    return this.post(`/login${query}`, { email, password, ...extra });
  }
}
