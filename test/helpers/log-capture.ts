/**
 * A real pino logger whose lines are kept in memory, so tests can assert what
 * the service would write to its log (and, above all, what it must not).
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { suiteLogged } from './suite-log.js';

export interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

export interface CapturedLogger {
  logger: Logger;
  /** Every line as written (JSON text). */
  raw: string[];
  /** Every line, parsed. */
  lines(): LogLine[];
  /** All output joined, for "never contains" checks. */
  text(): string;
}

export function captureLogger(): CapturedLogger {
  const raw: string[] = [];
  const logger = pino(
    { level: 'trace' },
    suiteLogged((line) => void raw.push(line)),
  );
  return {
    logger,
    raw,
    lines: () => raw.map((line) => JSON.parse(line) as LogLine),
    text: () => raw.join(''),
  };
}
