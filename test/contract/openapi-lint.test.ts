/**
 * openapi.yaml stays a valid OpenAPI 3.1 document under redocly.yaml's rules,
 * which include checking every example against its schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// The CLI's own entry, run by this node: no npx lookup, no network.
const cli = fileURLToPath(new URL('../../node_modules/@redocly/cli/bin/cli.js', import.meta.url));

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location?: Array<{ pointer?: string }> }>;
}

test('redocly lint finds no problem in openapi.yaml', () => {
  const run = spawnSync(process.execPath, [cli, 'lint', 'openapi.yaml', '--format=json'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    timeout: 60_000,
  });
  assert.equal(run.error, undefined, `could not run redocly: ${String(run.error)}`);
  const report = JSON.parse(run.stdout) as LintReport;
  const listed = report.problems
    .map((p) => `${p.severity} ${p.ruleId} at ${p.location?.[0]?.pointer ?? '?'}: ${p.message}`)
    .join('\n');
  assert.equal(report.totals.errors, 0, `redocly errors:\n${listed}`);
  // Warnings too: a rule that does not fit is switched off in redocly.yaml, with the reason.
  assert.equal(report.totals.warnings, 0, `redocly warnings:\n${listed}`);
  assert.equal(run.status, 0, run.stderr);
});
