/**
 * Operator tokens (README, "Operator API").
 *
 * Threats: a leaked configuration that lets its reader in (so it holds hashes
 * only); a token recovered a byte at a time from how long a refusal takes (so
 * the presented token is hashed first and compared with timingSafeEqual, two
 * 32-byte digests, against every configured entry with no early exit: the
 * work is the same whatever was sent); a mistyped entry that silently admits
 * nobody, or an operator API started with no way in.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { afterEach, test, mock } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { ConfigProblem } from '../../src/config/parse.js';
import { mintOperatorToken, operatorFor, operatorTokens, tokenDigest } from '../../src/operator/operator-tokens.js';
import { TEST_SECRETS } from '../helpers/app.js';
import { configProblems } from '../helpers/config-problems.js';

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

const a = mintOperatorToken('alice');
const b = mintOperatorToken('bob');
const c = mintOperatorToken('carol');
const tokens = operatorTokens.parse(`${a.entry}, ${b.entry}\n${c.entry}`, 'ADMIN_TOKENS');

test('admin:token mints 256 random bits; the entry holds only the SHA-256 of the token', () => {
  assert.match(a.token, /^tfa_op_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.token, mintOperatorToken('alice').token);
  assert.equal(a.entry, `alice:${crypto.createHash('sha256').update(a.token).digest('hex')}`);
  assert.ok(!a.entry.includes(a.token.slice(7)));
  assert.throws(() => mintOperatorToken('has space'), /token name/);
  assert.throws(() => mintOperatorToken(''), /token name/);
});

test('each token names its operator; anything else names nobody', () => {
  assert.deepEqual(
    tokens.map((t) => t.name),
    ['alice', 'bob', 'carol'],
  );
  assert.equal(operatorFor(tokens, a.token), 'alice');
  assert.equal(operatorFor(tokens, c.token), 'carol');
  for (const wrong of ['', a.token.slice(0, -1), `${a.token}x`, a.entry, a.entry.split(':')[1]!, 'x'.repeat(10_000)])
    assert.equal(operatorFor(tokens, wrong), null, wrong.slice(0, 20));
  assert.equal(operatorFor([], a.token), null);
});

test('the comparison is timingSafeEqual on two 32-byte digests, once per configured token, whatever is presented', () => {
  const calls = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  for (const presented of ['', 'short', a.token.slice(0, -1), b.token, c.token, 'x'.repeat(4096)]) {
    calls.mock.resetCalls();
    operatorFor(tokens, presented);
    assert.equal(calls.mock.callCount(), tokens.length, `every entry compared for ${presented.slice(0, 10)}`);
    for (const call of calls.mock.calls) {
      const [x, y] = call.arguments as [Buffer, Buffer];
      assert.equal(x.length, 32);
      assert.equal(y.length, 32);
      assert.deepEqual(x, tokenDigest(presented), 'the presented token is hashed before it is compared');
    }
  }
});

test('ADMIN_TOKENS entries are checked at start, each problem named', () => {
  const problem = (raw: string) => {
    try {
      operatorTokens.parse(raw, 'ADMIN_TOKENS');
      return '';
    } catch (err) {
      assert.ok(err instanceof ConfigProblem);
      return err.message;
    }
  };
  assert.deepEqual(operatorTokens.parse(undefined, 'ADMIN_TOKENS'), []);
  assert.deepEqual(operatorTokens.parse('  ', 'ADMIN_TOKENS'), []);
  assert.match(problem(a.token), /name:sha256hex/, 'a token instead of its entry');
  assert.match(problem('alice:abc'), /name:sha256hex/);
  assert.match(problem(`:${a.entry.split(':')[1]}`), /name:sha256hex/);
  assert.match(problem(`${a.entry},${a.entry}`), /names "alice" twice/);
  assert.equal(problem(a.entry.toUpperCase().replace('ALICE', 'alice')), '', 'hex in either case');
  assert.ok(!problem(a.token).includes(a.token), 'the refusal does not echo a whole token into the log');
});

test('ADMIN_PORT starts nothing unless set; set, it needs a token and a port of its own', () => {
  const problems = configProblems;
  const defaults = loadConfig({ ...TEST_SECRETS });
  assert.equal(defaults.ADMIN_PORT, undefined);
  assert.equal(defaults.ADMIN_HOST, '127.0.0.1');
  assert.match(problems({ ADMIN_PORT: '9465' }).join('\n'), /ADMIN_PORT is set but ADMIN_TOKENS names no token/);
  assert.match(problems({ ADMIN_PORT: '3000', ADMIN_TOKENS: a.entry }).join('\n'), /port of its own/);
  assert.match(problems({ ADMIN_PORT: '9464', ADMIN_TOKENS: a.entry }).join('\n'), /port of its own/);
  assert.deepEqual(problems({ ADMIN_PORT: '9465', ADMIN_TOKENS: a.entry }), []);
  assert.deepEqual(problems({ ADMIN_PORT: '0', ADMIN_TOKENS: a.entry, PORT: '0' }), [], '0: any free port');
  const fromFile = loadConfig(
    { ...TEST_SECRETS, ADMIN_TOKENS_FILE: '/run/secrets/admin_tokens' },
    { readFile: () => `${a.entry}\n${b.entry}\n` },
  );
  assert.deepEqual(
    fromFile.ADMIN_TOKENS.map((t) => t.name),
    ['alice', 'bob'],
  );
});
