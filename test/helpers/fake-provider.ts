/**
 * A real HTTP server on 127.0.0.1 (random port) that records every request and
 * answers either like the provider it imitates or as scripted by the test:
 * the next N answers can be an HTTP status, a hang (never answer) or a reset
 * (close the connection). The real provider client runs against it.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** JSON or form body, parsed; the raw string when neither parses. */
  body: unknown;
  receivedAt: number;
  /** The client closed the connection before we answered (it gave up). */
  aborted: boolean;
  /** The status we answered with (none for a hang or reset, or while still being answered). */
  answeredStatus?: number;
}

export interface HttpAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ScriptedAnswer = HttpAnswer | 'hang' | 'reset';

export abstract class FakeProviderServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private server: Server | undefined;
  private baseUrl: string | undefined;

  /** How the provider answers when nothing is scripted (auth check, routing, success). */
  protected abstract defaultAnswer(request: RecordedRequest): HttpAnswer;

  /** Base URL, e.g. http://127.0.0.1:41234; only after start(). */
  get url(): string {
    if (this.baseUrl === undefined) throw new Error('fake server not started');
    return this.baseUrl;
  }

  /** `port`: 0 for any free one; a receiver brought back after stop() passes its old port. */
  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Closes the listener and every connection, hanging ones included. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Queue `answer` for the next `times` requests (after anything already queued). */
  answerNext(answer: ScriptedAnswer, times = 1): this {
    for (let i = 0; i < times; i++) this.script.push(answer);
    return this;
  }

  failNext(times = 1, status = 500, body?: unknown): this {
    return this.answerNext(body === undefined ? { status } : { status, body }, times);
  }

  hangNext(times = 1): this {
    return this.answerNext('hang', times);
  }

  resetNext(times = 1): this {
    return this.answerNext('reset', times);
  }

  /** Forget recorded requests and scripted answers (between tests sharing one server). */
  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawBody,
      body: parseBody(req.headers['content-type'], rawBody),
      receivedAt: Date.now(),
      aborted: false,
    };
    this.requests.push(recorded);
    res.on('close', () => {
      if (!res.writableFinished) recorded.aborted = true;
    });
    const answer = this.script.shift() ?? this.defaultAnswer(recorded);
    if (answer === 'hang') return;
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    const payload =
      answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const headers: Record<string, string> = { ...answer.headers };
    if (payload !== '' && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    recorded.answeredStatus = answer.status;
    res.writeHead(answer.status, headers).end(payload);
  }
}

function parseBody(contentType: string | undefined, raw: string): unknown {
  if (raw === '') return undefined;
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** Decode `Authorization: Basic …` into user and password. */
export function basicAuth(headers: IncomingHttpHeaders): { user: string; password: string } | undefined {
  const match = /^Basic (.+)$/.exec(headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
