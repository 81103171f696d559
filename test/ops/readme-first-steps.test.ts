/**
 * The README's "First steps", run as written on a fresh clone of HEAD, with
 * `npm start` running in that clone, through a sign-in with the second factor.
 * The commands are read out of the README, not copied here, so the README
 * cannot drift from the service again (it once ended in a 500 and a damaged
 * data folder).
 *
 * The commands talk to localhost:3000 as a newcomer's would. Port 3000 on this
 * shared machine may be anyone's, so the service and the commands run in a
 * network namespace of their own (`unshare -rn`) when the kernel allows it;
 * otherwise on the machine's port 3000 if it is free, else the test is skipped.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { shellEnv } from '../helpers/service-process.js';
import { scanTerminalQr } from '../helpers/terminal-qr.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The shell blocks of the README's "First steps" section, in order. */
function firstStepsBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## First steps\n');
  assert.ok(start >= 0, 'the README has a "First steps" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Starts `npm start` in the clone, waits until it listens, runs the README's steps, stops the service. */
const RUNNER = `set -euo pipefail
cd "$1"
set -m
npm start > "$2" 2>&1 &
svc=$!
set +m
stop() { kill -TERM -- "-$svc" 2>/dev/null || true; wait "$svc" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq 1 1500); do grep -q 'command channel ready' "$2" && break; sleep 0.2; done
grep -q 'command channel ready' "$2" || { echo 'the service did not start'; cat "$2"; exit 3; }
bash -euo pipefail "$3"
`;

function port3000Free(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(3000, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** How to run the steps: in a network namespace of their own, else on the machine, else not at all. */
async function isolation(): Promise<string[] | string> {
  if (spawnSync('unshare', ['-rn', 'true']).status === 0)
    return ['unshare', '-rn', 'sh', '-c', 'ip link set lo up && exec bash "$@"', 'sh'];
  if (await port3000Free()) return ['bash'];
  return 'needs port 3000: no network namespace here (unshare -rn) and the port is taken';
}

const how = TEST_DATABASE_URL ? 'the README steps use the embedded database; run on PGlite' : await isolation();

test(
  'the README first steps, as written, reach a two-factor sign-in',
  { skip: typeof how === 'string' ? how : false },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'tfa-readme-'));
    try {
      const clone = join(work, 'clone');
      const head = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
      const cloned = spawnSync('git', ['clone', '-q', ROOT, clone], { encoding: 'utf8' });
      assert.equal(cloned.status, 0, cloned.stderr);
      assert.equal(spawnSync('git', ['-C', clone, 'checkout', '-q', head]).status, 0);
      // The repository's own dependencies, as `npm ci` installs them from the lockfile.
      symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));

      const readme = readFileSync(join(clone, 'README.md'), 'utf8');
      // The README's first lines: one command that runs the service, one that runs the tests.
      assert.match(readme, /^# tfa-service\n\n```sh\nnpm ci && npm start +#[^\n]*\nnpm ci && npm test +#[^\n]*\n```\n/);
      const [service, ...steps] = firstStepsBlocks(readme);
      assert.equal(service?.trim(), 'npm start', 'the first block starts the service');
      assert.ok(steps.length >= 4, 'the steps follow');
      const stepsFile = join(work, 'steps.sh');
      writeFileSync(stepsFile, steps.join('\n'));
      const runnerFile = join(work, 'runner.sh');
      writeFileSync(runnerFile, RUNNER);

      const [cmd, ...args] = how as string[];
      const child = spawn(cmd!, [...args, runnerFile, clone, join(work, 'service.log'), stepsFile], {
        env: { ...shellEnv(), npm_config_update_notifier: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      const log = () => `${out}\n--- service log ---\n${safeRead(join(work, 'service.log'))}`;
      assert.equal(code, 0, log());

      assert.match(out, /^created user you@example\.com$/m, log());
      assert.match(out, /^via the running service \(pid \d+\)$/m, log());
      const answers = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { meta: { code: number }; response: Record<string, any> });
      // login, tf-validate (setup), logout, login, tf-validate, /me
      assert.equal(answers.length, 6, log());
      type Answer = (typeof answers)[number];
      const [login, setup, logout, again, second, me] = answers as [Answer, Answer, Answer, Answer, Answer, Answer];
      assert.equal(login.response.tf_required, false);
      assert.equal(setup.meta.code, 200, log());
      assert.equal(logout.meta.code, 200);
      assert.equal(again.response.tf_required, true, 'the password alone no longer signs in');
      assert.equal(again.response.tf_method, 'authenticator');
      assert.equal(second.meta.code, 200, log());
      assert.equal(me.meta.code, 200, log());
      assert.equal(me.response.user.email, 'you@example.com');
      assert.deepEqual(me.response.authn_methods, ['password', 'authenticator']);
      // The QR code drawn in the terminal, read as a phone would, carries the key the steps gave oathtool.
      const key = /^key for the app: ([A-Z2-7]+)$/m.exec(out)?.[1];
      assert.ok(key, log());
      assert.equal(
        scanTerminalQr(out),
        `otpauth://totp/tfa-service:you%40example.com?secret=${key}&issuer=tfa-service`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '(none)';
  }
}
