/**
 * Threat: logs travel further than the database (shippers, aggregators,
 * support staff). The request log wrote `POST /tf-setup/{tf_state_token}`
 * with the token in clear, enough to finish someone's second-factor change;
 * a database error's line carried the statement's parameters and Postgres's
 * "Failing row contains (…)": e-mail, the whole argon2 hash, fs_uniquifier
 * (which signs every authentication token). Meanwhile the redaction hid the
 * one field an operator needs, the SQLSTATE `code`. Paths are logged as their
 * route, database errors without values, and error codes stay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createLogger } from '../../src/logger.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { signedIn } from '../helpers/two-factor.js';

type Line = { msg?: string; req?: { url?: string }; route?: string; err?: Record<string, unknown> };
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Line);

describe(`no token or SQL parameter in the logs, SQLSTATEs kept (${DB_KIND})`, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ SECURITY_REGISTERABLE: 'true', LOG_LEVEL: 'debug' });
  });
  after(() => t.close());

  test('POST /tf-setup/{tf_state_token} is logged as its route, never with the token', async () => {
    const email = uniqueEmail('logpath');
    await createUser(t.database, email, 'log-path-password-1');
    const c = await signedIn(t, email, 'log-path-password-1');
    const setup = await c.post('/tf-setup', { setup: 'authenticator' });
    const token = setup.data.response.tf_state_token as string;
    assert.ok(token.length > 40, 'a state token was issued');
    const from = t.logs.length;
    const res = await c.post(`/tf-setup/${token}?x=${token}`, { code: '000000' });
    assert.equal(res.statusCode, 400);
    const mine = t.logs.slice(from);
    assert.ok(mine.length > 0);
    for (const line of mine) assert.ok(!line.includes(token), `token in the log: ${line}`);
    const done = parse(mine).find((l) => l.msg === 'request completed');
    assert.equal(done?.req?.url, '/tf-setup/:tf_state_token');
    assert.equal(done?.route, '/tf-setup/:tf_state_token');

    // A path no route matches keeps its plain words only.
    const stray = await c.post(`/tf-setup/${token}/extra`, {});
    assert.equal(stray.statusCode, 404);
    const strayLine = parse(t.logs.slice(from)).findLast((l) => l.msg === 'request completed');
    assert.equal(strayLine?.req?.url, '/tf-setup/*/extra');
    assert.ok(!t.logs.join('\n').includes(token));
  });

  test("a database error's line holds its SQLSTATE and no parameter, row or hash", async () => {
    // A constraint the registration violates: Postgres answers 23514 with
    // "Failing row contains (id, e-mail, argon2 hash, fs_uniquifier, …)".
    await sql`ALTER TABLE users ADD CONSTRAINT test_no_blocked CHECK (email NOT LIKE '%@blocked.example')`.execute(
      t.database.db,
    );
    try {
      const email = `victim${process.pid}@blocked.example`;
      const password = 'never-in-a-log-password-7';
      const from = t.logs.length;
      const res = await t.app.inject({ method: 'POST', url: '/register', payload: { email, password } });
      assert.equal(res.statusCode, 500, res.body);
      assert.equal(JSON.parse(res.body).response.error_code, 'INTERNAL_ERROR');
      assert.ok(!res.body.includes('test_no_blocked'), 'no Postgres message in the answer');
      // A broken schema is not part of the contract: the 500 is provoked on purpose.
      assert.match(t.contract.violations.map((v) => v.message).join(), /status 500 is not documented/);
      t.contract.clear();
      const text = t.logs.slice(from).join('\n');
      const line = parse(t.logs.slice(from)).find((l) => l.msg === 'unhandled error');
      assert.ok(line?.err, 'the error is logged');
      assert.equal(line.err.code, '23514', 'the SQLSTATE is kept');
      assert.equal(line.err.constraint, 'test_no_blocked', 'and where it comes from');
      for (const leak of [email, `victim${process.pid}`, password, '$argon2id$', 'Failing row', '"params"', '"detail"'])
        assert.ok(!text.includes(leak), `${leak} in the log:\n${text}`);
    } finally {
      await sql`ALTER TABLE users DROP CONSTRAINT test_no_blocked`.execute(t.database.db);
    }
  });

  test('a data exception quotes no value: `value "…" is out of range`', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) });
    const err = await sql`SELECT ${'2147483648'}::integer`.execute(t.database.db).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    logger.error({ err }, 'unhandled error');
    const logged = parse(lines)[0]!.err!;
    assert.equal(logged.code, '22003');
    assert.match(String(logged.message), /out of range for type integer/);
    assert.ok(!lines[0]!.includes('2147483648'), lines[0]);
  });

  test('a one-time code under `code` is still redacted; an error code is not', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) });
    logger.info({ body: { code: '123456' }, recovery: { code: 'a1b2c3d4e5f6' } }, 'careless');
    logger.warn({ err: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) }, 'x');
    assert.ok(!lines[0]!.includes('123456') && !lines[0]!.includes('a1b2c3d4e5f6'), lines[0]);
    assert.equal((JSON.parse(lines[1]!) as Line).err?.code, 'ECONNREFUSED');
  });
});
