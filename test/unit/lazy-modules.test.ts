/**
 * A service on the `log` senders does not load, at start, the packages only
 * some deployments use (docs/architecture.md, Memory): they would sit in its
 * heap for its whole life (~6 MiB for SendGrid, libphonenumber-js and the QR
 * library, BENCHMARKS.md). A static import added at the top of any file on the
 * way from the app shows up here. Checked in a fresh process, since this test
 * process may have loaded them for other tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOADED_ON_FIRST_USE = [
  '@sendgrid/client',
  '@sendgrid/mail',
  'axios',
  'twilio',
  'libphonenumber-js',
  'qrcode',
  '@simplewebauthn/server',
  '@electric-sql/pglite',
];

test('the app loads none of the packages it loads on first use', () => {
  const script = fileURLToPath(new URL('../helpers/loaded-packages.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
  const loaded = JSON.parse(out.trim().split('\n').at(-1)!) as string[];
  // The probe sees packages at all: the ones every start needs are there.
  for (const needed of ['fastify', 'pg', 'kysely', '@node-rs/argon2']) assert.ok(loaded.includes(needed), needed);
  assert.deepEqual(
    LOADED_ON_FIRST_USE.filter((p) => loaded.includes(p)),
    [],
  );
});
