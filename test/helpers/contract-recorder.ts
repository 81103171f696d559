/**
 * Checks every answer a Fastify instance sends against openapi.yaml, so each
 * API test doubles as a contract test without saying so.
 *
 * Why collect instead of throwing from the hook: an error thrown in onSend
 * makes Fastify answer its own plain 500 (bypassing our error handler), so the
 * test fails on a confusing status and the contract message is buried in a
 * payload. Collecting leaves the answer under test untouched and reports the
 * violation verbatim. Two ways it reaches the test runner:
 *   - `assertNoViolations()` (call it in the test, or in `t.after`), and
 *   - a fail-safe onClose hook: closing the app rejects while violations are
 *     pending, so a shared helper that closes the app in `after` can't forget.
 */
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
 * refuses new hooks afterwards. A root hook covers routes of every plugin,
 * the not-found handler and the error handler.
 */
export function installContractCheck(app: FastifyInstance, options: ContractCheckOptions = {}): ContractCheck {
  const violations: ContractViolation[] = [];
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
    app.addHook('onSend', async (request, reply, payload) => {
      // CORS preflights belong to @fastify/cors, not to this contract.
      if (request.method === 'OPTIONS' || options.skip?.(request)) return payload;
      try {
        checkResponse({
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          headers: reply.getHeaders(),
          // Streams (files) can't be read here without consuming them.
          body: typeof payload === 'string' || Buffer.isBuffer(payload) || payload === null ? (payload ?? '') : undefined,
        });
      } catch (error) {
        violations.push(error instanceof ContractViolation ? error : new ContractViolation(String(error)));
      }
      return payload;
    });
    app.addHook('onClose', async () => check.assertNoViolations());
  } catch (error) {
    throw new Error(`installContractCheck must run before the app is ready: ${String(error)}`, { cause: error });
  }
  return check;
}
