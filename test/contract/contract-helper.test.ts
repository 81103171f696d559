/**
 * The contract check itself: it must accept what openapi.yaml allows and
 * reject the drifts we care about (a missing or stray field, an undocumented
 * status or path, a missing header). A check that accepts everything would
 * make every API test pass silently.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkResponse, ContractViolation, documentedOperations } from '../helpers/openapi-contract.js';
import type { ResponseSample } from '../helpers/openapi-contract.js';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
const CSRF = 'IjY2ZjU2.ZK1mNw.abc';

function sample(
  method: string,
  url: string,
  statusCode: number,
  body: unknown,
  headers: ResponseSample['headers'] = JSON_HEADERS,
): ResponseSample {
  return { method, url, statusCode, headers, body };
}
const ok = (response: object) => ({ meta: { code: 200 }, response });
const error = (code: number, error_code: string, extra: object = {}) => ({
  meta: { code },
  response: { errors: ['message'], field_errors: { '': ['message'] }, error_code, ...extra },
});

function rejects(s: ResponseSample, pattern: RegExp): void {
  assert.throws(
    () => checkResponse(s),
    (e: unknown) => {
      assert.ok(e instanceof ContractViolation, `expected a ContractViolation, got ${String(e)}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const authenticatorSetup = {
  csrf_token: CSRF,
  tf_state: 'validating_profile',
  tf_primary_method: 'authenticator',
  tf_method: 'authenticator',
  tf_state_token: 'tok',
  tf_authr_key: 'JBSW-Y3DP-EHPK-3PXP',
  tf_authr_b32key: 'JBSWY3DPEHPK3PXP',
  tf_authr_issuer: 'tfa-service',
  tf_authr_username: 'ada@example.com',
  tf_authr_uri: 'otpauth://totp/tfa-service:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=tfa-service',
  tf_authr_qrcode: 'data:image/svg+xml;base64,PHN2Zy8+',
};

describe('checkResponse accepts conforming answers', () => {
  const accepted: Array<[string, ResponseSample]> = [
    ['GET /login, anonymous', sample('GET', '/login', 200, ok({ csrf_token: CSRF, identity_attributes: ['email'] }))],
    [
      'GET /login, signed in with a token',
      sample(
        'GET',
        '/login?include_auth_token',
        200,
        ok({ csrf_token: CSRF, identity_attributes: ['email'], user: { email: 'a@b.c', authentication_token: 't' } }),
      ),
    ],
    [
      'POST /login, pending',
      sample(
        'POST',
        '/login',
        200,
        ok({ csrf_token: CSRF, tf_required: true, tf_state: 'ready', tf_primary_method: 'sms', tf_method: 'sms' }),
      ),
    ],
    [
      'POST /login, raw JSON payload',
      sample(
        'POST',
        '/login',
        200,
        JSON.stringify(ok({ csrf_token: CSRF, tf_required: true, tf_state: 'setup_from_login' })),
      ),
    ],
    ['POST /logout', sample('POST', '/logout', 200, ok({}))],
    ['POST /tf-setup, authenticator', sample('POST', '/tf-setup', 200, ok(authenticatorSetup))],
    ['POST /tf-setup, disable', sample('POST', '/tf-setup', 200, ok({ csrf_token: CSRF }))],
    [
      'POST /tf-setup/{tf_state_token}',
      sample('POST', '/tf-setup/abc.def?x=1', 200, ok({ csrf_token: CSRF, user: { email: 'a@b.c' } })),
    ],
    ['POST /tf-validate, wrong code', sample('POST', '/tf-validate', 400, error(400, 'TWO_FACTOR_INVALID_TOKEN'))],
    [
      'POST /tf-validate, capped',
      sample('POST', '/tf-validate', 429, error(429, 'TWO_FACTOR_TOO_MANY_ATTEMPTS'), {
        ...JSON_HEADERS,
        'retry-after': '30',
      }),
    ],
    [
      'GET /tf-setup, not fresh',
      sample('GET', '/tf-setup', 401, error(401, 'REAUTHENTICATION_REQUIRED', { reauth_required: true })),
    ],
    ['POST /register, disabled', sample('POST', '/register', 404, error(404, 'NOT_FOUND'))],
    ['DELETE /tf-devices/{id}', sample('DELETE', '/tf-devices/5b0c', 200, ok({ csrf_token: CSRF, devices: [] }))],
    ['unknown path', sample('GET', '/nope', 404, error(404, 'NOT_FOUND'))],
    [
      'known path, wrong method',
      sample('PUT', '/login', 405, error(405, 'METHOD_NOT_ALLOWED'), { ...JSON_HEADERS, allow: 'GET, HEAD, POST' }),
    ],
    ['HEAD of a GET route', sample('HEAD', '/healthz', 200, undefined, { 'content-type': 'application/json' })],
    ['GET /healthz', sample('GET', '/healthz', 200, { status: 'ok' }, { 'content-type': 'application/json' })],
    [
      'GET /readyz, down',
      sample('GET', '/readyz', 503, { status: 'unavailable' }, { 'content-type': 'application/json' }),
    ],
    [
      'GET /metrics',
      sample('GET', '/metrics', 200, '# HELP x\n', { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
    ],
  ];
  for (const [name, s] of accepted) test(name, () => checkResponse(s));
});

describe('checkResponse rejects drift', () => {
  test('a missing required field', () =>
    rejects(
      sample('GET', '/login', 200, ok({ identity_attributes: ['email'] })),
      /must have required property 'csrf_token'/,
    ));
  test('an extra field in a success body', () =>
    rejects(
      sample('GET', '/login', 200, ok({ csrf_token: CSRF, identity_attributes: ['email'], debug: 1 })),
      /additional properties \(debug\)/,
    ));
  test('a secret leaking into user', () =>
    rejects(
      sample('POST', '/mf-recovery', 200, ok({ csrf_token: CSRF, user: { email: 'a@b.c', fs_uniquifier: 'x' } })),
      /fs_uniquifier/,
    ));
  test('an undocumented status', () =>
    rejects(sample('GET', '/me', 500, error(500, 'INTERNAL_ERROR')), /status 500 is not documented for GET \/me/));
  test('an undocumented path', () =>
    rejects(sample('GET', '/admin', 200, ok({ csrf_token: CSRF })), /undocumented path/));
  test('a wrong method answered 404 instead of 405', () =>
    rejects(sample('GET', '/logout', 404, error(404, 'NOT_FOUND')), /GET is not documented for \/logout/));
  test('an error_code that does not belong to the status', () =>
    rejects(
      sample('POST', '/login', 400, error(400, 'RATE_LIMITED')),
      /error_code must be equal to one of the allowed values/,
    ));
  test('meta.code that differs from the status', () =>
    rejects(
      sample('POST', '/login', 400, { ...error(400, 'REQUIRED'), meta: { code: 200 } }),
      /meta\.code 200 differs/,
    ));
  test('a 429 without Retry-After', () =>
    rejects(sample('POST', '/login', 429, error(429, 'RATE_LIMITED')), /missing required header Retry-After/));
  test('a 405 without Allow', () =>
    rejects(sample('PUT', '/login', 405, error(405, 'METHOD_NOT_ALLOWED')), /missing required header Allow/));
  test('an auth answer without Cache-Control: no-store', () =>
    rejects(
      sample('GET', '/login', 200, ok({ csrf_token: CSRF, identity_attributes: ['email'] }), {
        'content-type': 'application/json',
        'cache-control': 'max-age=60',
      }),
      /header Cache-Control/,
    ));
  test('an undocumented content type', () =>
    rejects(
      sample('GET', '/login', 200, '<html>', { ...JSON_HEADERS, 'content-type': 'text/html' }),
      /content-type "text\/html" is not documented/,
    ));
  test('an authenticator setup without its QR code', () => {
    const { tf_authr_qrcode: _dropped, ...rest } = authenticatorSetup;
    rejects(sample('POST', '/tf-setup', 200, ok(rest)), /tf_authr_qrcode/);
  });
  test('reauth_required on a 401 that is not about freshness', () =>
    rejects(sample('GET', '/me', 401, error(401, 'UNAUTHENTICATED', { reauth_required: true })), /reauth_required/));
  test('a body that is not JSON', () => rejects(sample('GET', '/login', 200, '{"meta":'), /not valid JSON/));
});

test('documentedOperations lists every endpoint of SPEC §3 once', () => {
  const listed = documentedOperations().map((o) => `${o.method} ${o.path}`);
  assert.equal(new Set(listed).size, listed.length);
  for (const expected of [
    'GET /login',
    'POST /login',
    'POST /logout',
    'POST /register',
    'POST /verify',
    'POST /change',
    'GET /me',
    'GET /tf-setup',
    'POST /tf-setup',
    'POST /tf-setup/{tf_state_token}',
    'GET /tf-validate',
    'POST /tf-validate',
    'GET /tf-rescue',
    'POST /tf-rescue',
    'GET /mf-recovery-codes',
    'POST /mf-recovery-codes',
    'GET /mf-recovery',
    'POST /mf-recovery',
    'GET /tf-devices',
    'DELETE /tf-devices',
    'DELETE /tf-devices/{id}',
    'GET /healthz',
    'GET /readyz',
    'GET /metrics',
    'GET /openapi.yaml',
    'GET /docs',
  ])
    assert.ok(listed.includes(expected), `${expected} is not documented`);
});
