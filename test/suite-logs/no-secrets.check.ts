/**
 * Threat: the logs of a real deployment are only as clean as the logs of the
 * test suite that exercises every flow. After each storage run, test/run.sh
 * runs this file over what the whole suite logged (test/helpers/suite-log.ts):
 * no line may hold a password, code, token, cookie, TOTP secret or recovery
 * code that a test sent or received, nor an argon2 hash, a statement's
 * parameters, a row from a constraint error, or a token in a path; and every
 * logged database error must still name its SQLSTATE.
 *
 * The `log` sender's "outbox delivery" lines are the one exception: they exist
 * to show a developer the code (README "First steps"; never in production).
 *
 * Not a *.test.ts file: it reads the suite's output, so it runs after the suite.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SUITE_LOG_DIR } from '../helpers/suite-log.js';

const DIR = SUITE_LOG_DIR;

interface Finding {
  where: string;
  what: string;
}

/** Patterns that must never appear, whatever the test sent. */
const FORBIDDEN: Array<[string, RegExp]> = [
  ['an argon2 hash', /\$argon2(id|i|d)\$/],
  ["a statement's parameters", /"params"\s*:\s*\[/],
  ['a row from a constraint error', /Failing row contains|"detail"\s*:/],
  ['a parameter value from Postgres', /portal parameter \$\d+ = /],
  ['a token in a path', /\/tf-setup\/[A-Za-z0-9_.~%-]{20,}/],
  ['a redacted error code', /"err"\s*:\s*\{[^{}]*"code"\s*:\s*"\[redacted\]"/],
];

/** Fields every line has that are numbers of their own (pid, time), removed so a code cannot match them by chance. */
const NOISE = /"(pid|time|hostname|responseTime|reqId|id)"\s*:\s*("[^"]*"|[\d.]+)/g;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function readJsonLines(dir: string): Array<{ file: string; n: number; line: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((file) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ file, n: i + 1, line }))
      .filter((l) => l.line.trim() !== ''),
  );
}

test('the suite wrote its logs and its secrets (else this scan would prove nothing)', { skip: !DIR }, () => {
  assert.ok(readJsonLines(join(DIR!, 'logs')).length >= 100, 'fewer than 100 log lines: is every test app logging?');
  assert.ok(readJsonLines(join(DIR!, 'secrets')).length >= 20, 'fewer than 20 secrets recorded');
});

/**
 * A value that is one lower-case word ("password") is also a word of the log's
 * own vocabulary (`"methods":["password"]`): it cannot be told apart, so only
 * values with a digit, a capital, a space or a symbol are looked for. Every
 * generated secret (codes, tokens, cookies, keys) has one.
 */
const DISTINCTIVE = /[^a-z]/;

/** One regular expression per batch of values: each is matched whole, not inside a longer word. */
function matchers(values: string[]): RegExp[] {
  const sorted = [...new Set(values)].sort((a, b) => b.length - a.length).map(escape);
  const batches: RegExp[] = [];
  for (let i = 0; i < sorted.length; i += 500)
    batches.push(new RegExp(`(?<![A-Za-z0-9])(${sorted.slice(i, i + 500).join('|')})(?![A-Za-z0-9])`, 'g'));
  return batches;
}

test('no log line of the whole suite holds a secret, a hash or a SQL parameter', { skip: !DIR }, () => {
  // Each test process's secrets are looked for in every log line of the run.
  const secrets = readJsonLines(join(DIR!, 'secrets'))
    .map((l) => JSON.parse(l.line) as { kind: string; value: string })
    .filter((s) => DISTINCTIVE.test(s.value));
  const kindOf = new Map(secrets.map((s) => [s.value, s.kind]));
  const batches = matchers(secrets.map((s) => s.value));

  const findings: Finding[] = [];
  for (const { file, n, line } of readJsonLines(join(DIR!, 'logs'))) {
    if (line.includes('"msg":"outbox delivery"')) continue;
    const where = `${file}:${n}`;
    for (const [what, pattern] of FORBIDDEN) if (pattern.test(line)) findings.push({ where, what });
    const text = line.replace(NOISE, '');
    for (const batch of batches)
      for (const m of text.matchAll(batch))
        findings.push({ where, what: `a ${kindOf.get(m[1]!)} (${m[1]!.slice(0, 4)}…)` });
  }
  const report = findings
    .slice(0, 40)
    .map((f) => `  ${f.where}: ${f.what}`)
    .join('\n');
  assert.equal(findings.length, 0, `${findings.length} secrets in the suite's logs:\n${report}`);
});

test('every logged database error still names its SQLSTATE, and the suite logged some', { skip: !DIR }, () => {
  let databaseErrors = 0;
  const missing: string[] = [];
  for (const { file, n, line } of readJsonLines(join(DIR!, 'logs'))) {
    let parsed: { err?: Record<string, unknown> };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue; // a child process's plain output line
    }
    const err = parsed.err;
    if (!err || !('routine' in err || 'severity' in err)) continue;
    databaseErrors++;
    if (typeof err.code !== 'string' || !/^[0-9A-Z]{5}$/.test(err.code)) missing.push(`${file}:${n} code=${err.code}`);
  }
  assert.deepEqual(missing, [], 'database errors logged without their SQLSTATE');
  assert.ok(databaseErrors > 0, 'no database error was logged: the SQLSTATE check saw nothing');
});
