/**
 * Checks every answer a Fastify instance sends against openapi.yaml, so each
 * API test doubles as a contract test without saying so.
 *
 * Why collect instead of throwing from a hook: an error thrown in onSend
 * makes Fastify answer its own plain 500 (bypassing our error handler), so the
 * test fails on a confusing status and the contract message is buried in a
 * payload. Collecting leaves the answer under test untouched and reports the
 * violation verbatim. Two ways it reaches the test runner:
 *   - `assertNoViolations()` (call it in the test, or in `t.after`), and
 *   - a fail-safe onClose hook: closing the app rejects while violations are
 *     pending, so a shared helper that closes the app in `after` can't forget.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ContractViolation, checkResponse } from './openapi-check.js';

export interface ContractCheckOptions {
  /** Requests to leave unchecked, e.g. a test that provokes a real 500 on purpose. */
  skip?: (request: FastifyRequest) => boolean;
}

export interface ContractCheck {
  readonly violations: readonly ContractViolation[];
  /** Throws one error listing every violation so far, then forgets them. */
  assertNoViolations(): void;
  /** Forgets the violations so far (for tests that expect one). */
  clear(): void;
}

/**
 * Call on a fresh instance, before `ready()`/the first `inject()`: Fastify
 * refuses new hooks afterwards. Root hooks cover routes of every plugin, the
 * not-found handler and the error handler.
 */
export function installContractCheck(app: FastifyInstance, options: ContractCheckOptions = {}): ContractCheck {
  const violations: ContractViolation[] = [];
  // CORS preflights belong to @fastify/cors, not to this contract: never captured.
  const captured = new WeakMap<FastifyRequest, Buffer[]>();
  const check: ContractCheck = {
    violations,
    assertNoViolations() {
      if (violations.length === 0) return;
      const report = violations.map((v) => v.message).join('\n\n');
      violations.length = 0;
      throw new ContractViolation(`responses that break openapi.yaml:\n\n${report}`);
    },
    clear() {
      violations.length = 0;
    },
  };

  try {
    // Capture the bytes as they go on the wire, and check once the answer is
    // complete (onResponse). Checking the payload in onSend would run before
    // the onSend hooks of encapsulated plugins, which may still add headers
    // (Cache-Control) or change the body. onSend is only where the capture
    // starts: it runs for every reply, even one sent early by another
    // onRequest hook (an Origin check), and always before the bytes are written.
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.method !== 'OPTIONS' && !options.skip?.(request) && !captured.has(request)) {
        captured.set(request, captureBody(reply.raw));
      }
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      const chunks = captured.get(request);
      if (!chunks) return;
      try {
        checkResponse({
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          headers: reply.getHeaders(),
          body: Buffer.concat(chunks),
        });
      } catch (error) {
        violations.push(error instanceof ContractViolation ? error : new ContractViolation(String(error)));
      }
    });
    app.addHook('onClose', async () => check.assertNoViolations());
  } catch (error) {
    throw new Error(`installContractCheck must run before the app is ready: ${String(error)}`, { cause: error });
  }
  return check;
}

/** Wraps write/end of one response to keep a copy of what is sent. */
function captureBody(raw: ServerResponse): Buffer[] {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown) => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = raw.write.bind(raw) as (...args: unknown[]) => boolean;
  const end = raw.end.bind(raw) as (...args: unknown[]) => ServerResponse;
  // light-my-request's end() calls write() itself; count those bytes once.
  let ending = false;
  raw.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!ending) keep(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  raw.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') keep(chunk);
    ending = true;
    try {
      return end(chunk, ...rest);
    } finally {
      ending = false;
    }
  }) as ServerResponse['end'];
  return chunks;
}
