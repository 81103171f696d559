/**
 * A client for real listeners (fetch): keeps cookies and the latest
 * csrf_token like a browser would, and takes the base URL per request, so one
 * client can talk to several instances of the service.
 */
export interface WireAnswer {
  status: number;
  headers: Headers;
  data: any;
}

export class WireClient {
  cookies = new Map<string, string>();
  csrf: string | undefined;

  async request(
    base: string,
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<WireAnswer> {
    const headers: Record<string, string> = { ...extra };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf && method !== 'GET' && !('x-csrf-token' in headers)) headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const raw of res.headers.getSetCookie()) this.keep(raw);
    const text = await res.text();
    let data: any;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    const token = data?.response?.csrf_token;
    if (typeof token === 'string' && token !== '') this.csrf = token;
    return { status: res.status, headers: res.headers, data };
  }

  get(base: string, path: string, headers?: Record<string, string>) {
    return this.request(base, 'GET', path, undefined, headers);
  }
  post(base: string, path: string, body: unknown = {}, headers?: Record<string, string>) {
    return this.request(base, 'POST', path, body, headers);
  }

  private keep(raw: string): void {
    const [pair = '', ...attrs] = raw.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const gone =
      value === '' ||
      attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
    if (gone) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}
