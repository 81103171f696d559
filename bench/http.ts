/**
 * A small JSON client over node:http with keep-alive, one cookie jar per
 * client: what the multi-step scenarios (sign-in, wrong codes) and seeding use.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  body: { meta?: { code: number }; response?: Record<string, unknown> } & Record<string, unknown>;
  ms: number;
}

let nextAddress = 1;

export class Client {
  private cookie = '';
  csrf = '';

  /**
   * The address the service sees (X-Forwarded-For; the bench service trusts
   * 127.0.0.1 as its proxy). Each bench client is its own address, as real
   * users are: one address for every client would measure the per-IP password
   * throttle (docs/architecture.md, Budgets) instead of the service.
   */
  private readonly address: string;

  constructor(
    private readonly base: URL,
    private readonly agent: http.Agent,
  ) {
    const n = nextAddress++;
    this.address = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  }

  get sessionCookie(): string {
    return this.cookie;
  }

  clear(): void {
    this.cookie = '';
    this.csrf = '';
  }

  /** Takes over a session begun by another client (a prepared pending sign-in). */
  resume(state: { cookie: string; csrf: string }): void {
    this.cookie = state.cookie;
    this.csrf = state.csrf;
  }

  request(method: string, path: string, json?: unknown): Promise<Answer> {
    const payload = json === undefined ? undefined : JSON.stringify(json);
    const headers: http.OutgoingHttpHeaders = { 'x-forwarded-for': this.address };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.base.hostname, port: this.base.port, path, method, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            this.takeCookie(res.headers['set-cookie']);
            const text = Buffer.concat(chunks).toString('utf8');
            let body: Answer['body'];
            try {
              body = text ? (JSON.parse(text) as Answer['body']) : {};
            } catch {
              body = { raw: text };
            }
            const token = body.response?.csrf_token;
            if (typeof token === 'string' && token) this.csrf = token;
            resolve({ status: res.statusCode ?? 0, body, ms });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  private takeCookie(setCookie: string[] | undefined): void {
    for (const c of setCookie ?? []) {
      const [pair = '', ...attrs] = c.split(';');
      if (!pair.startsWith('session=')) continue;
      const cleared =
        pair === 'session=' ||
        attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      this.cookie = cleared ? '' : pair;
      if (cleared) this.csrf = '';
    }
  }
}

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}
