/**
 * Threat: a database outage answered as 500 (a bug) instead of 503 (come back
 * later) — or, the other way round, a bug in our SQL hidden as an outage. The
 * classifier decides by class (SQLSTATE classes 08, 53, 57 and 55000, socket
 * and resolver errnos, the pg driver's connection errors), so this covers the
 * members of those classes that test/security/database-outage.test.ts cannot
 * produce safely on a shared server (crash shutdown, out of memory or disk,
 * protocol violations, unreachable hosts), and the neighbours that must stay 500.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
import { AppError } from '../../src/errors.js';
import { toAppError } from '../../src/http/errors-plugin.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('every SQLSTATE of classes 08, 53, 57 (but 57014) and 55000 is unavailable', () => {
  const unavailable = [
    '08000', '08001', '08003', '08004', '08006', '08007', '08P01',
    '53000', '53100', '53200', '53300', '53400',
    '57000', '57P01', '57P02', '57P03', '57P04', '57P05',
    '55000',
  ]; // prettier-ignore
  for (const code of unavailable) {
    assert.equal(isDatabaseUnavailable(withCode(code)), true, code);
    const mapped = toAppError(withCode(code));
    assert.ok(mapped instanceof AppError && mapped.key === 'SERVICE_UNAVAILABLE' && mapped.status === 503, code);
  }
});

test('errors of the request or of our SQL are not an outage', () => {
  // unique violation, out of range, undefined table, statement timeout, lock not available,
  // other class-55 states, serialization failure, internal error
  for (const code of ['23505', '22003', '42P01', '57014', '55P03', '55006', '40001', 'XX000', '0A000']) {
    assert.equal(isDatabaseUnavailable(withCode(code)), false, code);
    assert.equal((toAppError(withCode(code)) as AppError).key, 'INTERNAL_ERROR', code);
  }
  for (const err of [null, undefined, 'ECONNREFUSED', new Error('boom'), withCode('ENOENT'), new AppError('API_ERROR')])
    assert.equal(isDatabaseUnavailable(err), false, String(err));
});

test("the operating system's socket and resolver errors are unavailable", () => {
  for (const code of [
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EAI_FAIL',
    'EHOSTUNREACH',
    'EHOSTDOWN',
    'ENETUNREACH',
    'ENETDOWN',
    'EPIPE',
    'EADDRNOTAVAIL',
  ])
    // prettier-ignore
    assert.equal(isDatabaseUnavailable(withCode(code)), true, code);
});

test("the pg driver's connection errors, which carry no code, are unavailable", () => {
  for (const message of [
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'Connection terminated',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
    'Client was closed and is not queryable',
    'Cannot use a pool after calling end on the pool',
  ])
    assert.equal(isDatabaseUnavailable(new Error(message)), true, message);
});

test('wrapped errors are followed: AggregateError (every address of a host refused) and cause', () => {
  const refusedTwice = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed');
  assert.equal(isDatabaseUnavailable(refusedTwice), true);
  assert.equal(isDatabaseUnavailable(new Error('query failed', { cause: withCode('57P01') })), true);
  assert.equal(isDatabaseUnavailable(new Error('query failed', { cause: withCode('23505') })), false);
  const loop: { code?: string; cause?: unknown } = {};
  loop.cause = loop;
  assert.equal(isDatabaseUnavailable(loop), false, 'a cause cycle ends');
});
