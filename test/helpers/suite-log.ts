/**
 * The log of the whole test suite, and the secrets the suite used, so that
 * test/suite-logs/scan.check.ts can show after a run that no password, code,
 * token, secret, hash or SQL parameter ever reached a service log line.
 *
 * test/run.sh sets TFA_TEST_LOG_DIR for each storage run. Every service log
 * line a test app writes is appended to `logs/<process>.log` there, and every
 * secret a test sent or received (request bodies and headers, answers, cookies,
 * recorded messages) to `secrets/<process>.jsonl`, where <process> is the file
 * the test process runs (a shard of test files, test/run.sh) and its pid.
 * Without the variable (a single test file run by hand) nothing is written.
 * Like db.ts, a helper may read the environment.
 */
import { appendFileSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Where test/run.sh wants the suite's log (one folder per storage run). */
export const SUITE_LOG_DIR = process.env.TFA_TEST_LOG_DIR || undefined;
const DIR = SUITE_LOG_DIR;
const NAME = `${basename(process.argv[1] ?? 'unknown').replace(/[^\w.-]/g, '_')}.${process.pid}`;

let logFd: number | undefined;
function logFile(): number {
  if (logFd === undefined) {
    mkdirSync(join(DIR!, 'logs'), { recursive: true });
    logFd = openSync(join(DIR!, 'logs', `${NAME}.log`), 'a');
  }
  return logFd;
}

/** Appends one service log line (pino's JSON, or a child process's output line) to the suite's log. */
export function writeSuiteLog(line: string): void {
  if (!DIR) return;
  writeSync(logFile(), line.endsWith('\n') ? line : `${line}\n`);
}

/** A pino destination that keeps the lines for the test and copies them to the suite's log. */
export function suiteLogged(write: (line: string) => void): { write(line: string): void } {
  return {
    write(line: string) {
      write(line);
      writeSuiteLog(line);
    },
  };
}

const recorded = new Set<string>();
/** Remembers a value that must never be in a log (six characters or more: shorter ones would match by chance). */
export function recordSecret(kind: string, value: unknown): void {
  if (!DIR || typeof value !== 'string' || value.length < 6 || recorded.has(value)) return;
  recorded.add(value);
  mkdirSync(join(DIR, 'secrets'), { recursive: true });
  appendFileSync(join(DIR, 'secrets', `${NAME}.jsonl`), `${JSON.stringify({ kind, value })}\n`);
}

/** Fields of request bodies and answers that hold secrets (openapi.yaml). */
const SECRET_FIELDS = new Set([
  'password',
  'new_password',
  'code',
  'authentication_token',
  'refresh_token',
  'tf_state_token',
  'csrf_token',
  'tf_authr_key',
  'tf_authr_b32key',
  'recovery_codes',
]);

function harvest(value: unknown, key = ''): void {
  if (Array.isArray(value)) value.forEach((v) => harvest(v, key));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) harvest(v, k);
  else if (SECRET_FIELDS.has(key)) recordSecret(key, value);
}

function harvestCookies(header: unknown, kind: string): void {
  const values = Array.isArray(header) ? header : typeof header === 'string' ? header.split(/;\s*/) : [];
  for (const cookie of values as string[]) {
    const value = decodeURIComponent(String(cookie).split(';', 1)[0]!.split('=').slice(1).join('='));
    recordSecret(kind, value);
    // The signed cookie's id alone (what the store hashes) must not appear either.
    recordSecret(kind, value.split('.')[0]);
  }
}

/** A request whose body a test generated at random sends this header: its body is not harvested. */
export const GENERATED_BODY_HEADER = 'x-test-generated-body';

/** Records every secret that goes into or comes out of a test app. Call before `ready()`. */
export function harvestSecrets(app: FastifyInstance): void {
  if (!DIR) return;
  app.addHook('onSend', async (request, reply, payload) => {
    // A generated body (test/security/fuzz.test.ts) holds words of the API's own vocabulary
    // in secret fields ("recovery_code" as a csrf_token): not secrets, and they are logged as words.
    if (request.headers[GENERATED_BODY_HEADER] === undefined) harvest(request.body);
    recordSecret('authentication-token', request.headers['authentication-token']);
    recordSecret('authorization', request.headers.authorization?.replace(/^bearer\s+/i, ''));
    recordSecret('csrf-header', request.headers['x-csrf-token']);
    harvestCookies(request.headers.cookie, 'cookie');
    harvestCookies(reply.getHeader('set-cookie'), 'set-cookie');
    if (typeof payload === 'string' && payload.startsWith('{')) {
      try {
        harvest(JSON.parse(payload));
      } catch {
        // not JSON: nothing to harvest
      }
    }
    return payload;
  });
}

/** Codes in a message the service sent (e-mail or SMS text). */
export function recordSentCodes(text: string): void {
  for (const code of text.match(/\b\d{6}\b/g) ?? []) recordSecret('sent-code', code);
}
