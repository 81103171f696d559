/**
 * A small JSON client for the multi-step scenarios (sign-in, wrong codes) and
 * seeding: one keep-alive connection and one cookie jar per client, one
 * request at a time, HTTP/1.1 written and read on a plain socket.
 *
 * Not node:http's client: on this 2-core machine the bench shares the cores
 * with the service it measures, and with node:http (its request and response
 * objects, streams and agent) the bench spent 190-256 µs of CPU per wrong code,
 * over a tenth of the machine's; with this client 96-107 (BENCHMARKS.md, "Wrong
 * codes at 8 clients"). autocannon, which drives the session scenario, writes
 * and parses on plain sockets for the same reason.
 */
import net from 'node:net';

export interface Answer {
  status: number;
  body: { meta?: { code: number }; response?: Record<string, unknown> } & Record<string, unknown>;
  ms: number;
}

let nextAddress = 1;

interface Waiting {
  resolve: (a: Answer) => void;
  reject: (err: Error) => void;
  started: bigint;
}

/** A response read whole: status, the headers the bench uses, the body's text. */
interface Raw {
  status: number;
  setCookie: string[];
  close: boolean;
  body: string;
}

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
  private socket: net.Socket | null = null;
  private waiting: Waiting | null = null;
  private received: Buffer = Buffer.alloc(0);

  constructor(private readonly base: URL) {
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

  /** Closes the connection (it is opened again by the next request). */
  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  request(method: string, path: string, json?: unknown): Promise<Answer> {
    const payload = json === undefined ? '' : JSON.stringify(json);
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.base.host}\r\nx-forwarded-for: ${this.address}\r\n`;
    if (json !== undefined) {
      head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n`;
    }
    if (this.cookie) head += `cookie: ${this.cookie}\r\n`;
    if (this.csrf && method !== 'GET') head += `x-csrf-token: ${this.csrf}\r\n`;
    return new Promise((resolve, reject) => {
      if (this.waiting) return reject(new Error('bench client: one request at a time'));
      this.waiting = { resolve, reject, started: process.hrtime.bigint() };
      this.connection().write(`${head}\r\n${payload}`);
    });
  }

  private connection(): net.Socket {
    if (this.socket) return this.socket;
    const socket = net.connect({ host: this.base.hostname, port: Number(this.base.port), noDelay: true });
    this.received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
      try {
        this.answer();
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const gone = (err?: Error): void => {
      // A socket closed after its answer (Connection: close) may report it once the next
      // request is already waiting on a new one: that request is not this socket's.
      if (this.socket !== socket) return;
      this.socket = null;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(err ?? new Error('bench client: connection closed before the answer'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    this.socket = socket;
    return socket;
  }

  /** Resolves the waiting request once its whole response has arrived. */
  private answer(): void {
    const w = this.waiting;
    if (!w) return;
    const parsed = parseResponse(this.received);
    if (!parsed) return;
    const { raw, rest } = parsed;
    this.received = rest;
    this.waiting = null;
    const ms = Number(process.hrtime.bigint() - w.started) / 1e6;
    if (raw.close) this.close();
    this.takeCookie(raw.setCookie);
    let body: Answer['body'];
    try {
      body = raw.body ? (JSON.parse(raw.body) as Answer['body']) : {};
    } catch {
      body = { raw: raw.body };
    }
    const token = body.response?.csrf_token;
    if (typeof token === 'string' && token) this.csrf = token;
    w.resolve({ status: raw.status, body, ms });
  }

  private takeCookie(setCookie: string[]): void {
    for (const c of setCookie) {
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

/**
 * One HTTP/1.1 response from the front of `data`, or null while it is
 * incomplete. Bodies by Content-Length or chunked; none for 204 and 304.
 */
export function parseResponse(data: Buffer): { raw: Raw; rest: Buffer } | null {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = data.toString('latin1', 0, headEnd).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  if (!Number.isInteger(status)) throw new Error(`bench client: not an HTTP status line: ${lines[0]}`);
  const setCookie: string[] = [];
  let length: number | null = null;
  let chunked = false;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') chunked = /chunked/i.test(value);
    else if (name === 'set-cookie') setCookie.push(value);
    else if (name === 'connection') close = /close/i.test(value);
  }
  const start = headEnd + 4;
  if (status === 204 || status === 304)
    return { raw: { status, setCookie, close, body: '' }, rest: data.subarray(start) };
  if (chunked) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(data.toString('latin1', at, lineEnd), 16);
      if (Number.isNaN(size)) throw new Error('bench client: bad chunk size');
      const next = lineEnd + 2 + size + 2;
      if (data.length < next) return null;
      if (size === 0) {
        const body = Buffer.concat(parts).toString('utf8');
        return { raw: { status, setCookie, close, body }, rest: data.subarray(next) };
      }
      parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = next;
    }
  }
  if (length === null) {
    // Neither length nor chunks: the body runs to the end of the connection, which the bench never asks for.
    throw new Error(`bench client: a ${status} answer without Content-Length or chunks`);
  }
  if (data.length < start + length) return null;
  const body = data.toString('utf8', start, start + length);
  return { raw: { status, setCookie, close, body }, rest: data.subarray(start + length) };
}
