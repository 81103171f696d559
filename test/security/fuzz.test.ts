/*
 * Threat (issue #15, "Done when"): any request body, however malformed, in any
 * state of a caller, must get a clear answer in the envelope: a 5xx is a crash
 * an attacker can trigger at will (and often a leak: stack traces, SQL), and an
 * answer outside the envelope breaks every client. Property-based: fast-check
 * generates bodies from the request schemas of openapi.yaml (known fields with
 * wrong types, near-valid values, unknown fields, whole non-object bodies,
 * malformed JSON, oversized bodies, other content types) for every documented
 * POST, in every caller state (anonymous, password signed in with the second
 * factor pending, a pending setup on sign-in, a pending setup while signed in,
 * fully signed in), with and without the CSRF token. Every answer is also
 * checked against openapi.yaml by the test app (test/helpers/app.ts).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { newFsUniquifier } from '../../src/auth/auth.service.js';
import { hashPassword } from '../../src/users/passwords.js';
import { insertUser } from '../../src/users/users.repository.js';
import { createTestApp, uniqueEmail, type TestApp } from '../helpers/app.js';
import { GENERATED_BODY_HEADER } from '../helpers/suite-log.js';
import { DB_KIND } from '../helpers/db.js';
import { documentedOperations, escapePointer, getPointer, loadDocument } from '../helpers/openapi-document.js';

const PASSWORD = 'fuzz password 1';
// Per combination of operation, state and CSRF; 11 POSTs × 5 states × 2 = 110 combinations, 2,200 bodies.
const RUNS_PER_COMBINATION = 20;

/** A documented POST and the fields of its request schema (with their enum values, if any). */
interface PostOperation {
  path: string;
  fields: Map<string, readonly string[]>;
}

function documentedPosts(): PostOperation[] {
  const { doc } = loadDocument();
  const deref = (node: unknown): Record<string, any> => {
    const ref = (node as { $ref?: string } | undefined)?.$ref;
    return (ref ? getPointer(doc, ref.slice(1)) : node) as Record<string, any>;
  };
  return documentedOperations()
    .filter((o) => o.method === 'POST')
    .map(({ path }) => {
      const op = deref(getPointer(doc, `/paths/${escapePointer(path)}/post`));
      const schema = deref(op.requestBody?.content?.['application/json']?.schema ?? {});
      const fields = new Map<string, readonly string[]>();
      for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, unknown>))
        fields.set(name, (deref(prop).enum as string[] | undefined) ?? []);
      return { path, fields };
    });
}

type StateName = 'anonymous' | 'pending-second-factor' | 'setup-from-login' | 'pending-setup' | 'signed-in';

/** What a caller in some state sends: its cookies, its CSRF token, its tf_state_token. */
interface Caller {
  email: string;
  cookie: string;
  csrf: string;
  stateToken: string | null;
  /** Answers that may have moved the caller on (rebuilt after a few). */
  wear: number;
}

describe(`fuzzed bodies on every POST in every state (${DB_KIND})`, () => {
  let t: TestApp;
  let required: TestApp;
  let passwordHash: string;
  const posts = documentedPosts();

  before(async () => {
    const env = { SECURITY_REGISTERABLE: 'true', TRUST_PROXY: 'true', SECURITY_UNIFIED_SIGNIN: 'true' };
    t = await createTestApp(env);
    // The same database with 2FA required: its sign-ins stop in setup_from_login.
    required = await createTestApp({ ...env, SECURITY_TWO_FACTOR_REQUIRED: 'true' }, t.database);
    passwordHash = await hashPassword(PASSWORD);
  });
  after(async () => {
    await required.close();
    await t.close();
  });

  async function send(
    app: TestApp,
    url: string,
    caller: Pick<Caller, 'cookie' | 'csrf'> | null,
    opts: { csrf: boolean; payload?: string; contentType?: string; ip?: string },
  ): Promise<LightMyRequestResponse> {
    // Real secrets (the caller's cookie, CSRF token and the answers) are still harvested for the log scan.
    const headers: Record<string, string> = { 'x-forwarded-for': opts.ip ?? '10.9.9.9', [GENERATED_BODY_HEADER]: '1' };
    if (caller?.cookie) headers.cookie = caller.cookie;
    if (opts.csrf && caller?.csrf) headers['x-csrf-token'] = caller.csrf;
    if (opts.contentType) headers['content-type'] = opts.contentType;
    return app.app.inject({ method: 'POST', url, headers, payload: opts.payload });
  }

  const cookieOf = (res: LightMyRequestResponse, previous = ''): string => {
    const jar = new Map(previous ? previous.split('; ').map((c) => c.split('=', 2) as [string, string]) : []);
    for (const c of res.cookies as Array<{ name: string; value: string }>) jar.set(c.name, c.value);
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  };
  const json = (res: LightMyRequestResponse): any => JSON.parse(res.body);

  /** A fresh user (the password hash is made once) signed in on `app` up to `state`. */
  async function buildCaller(state: StateName): Promise<{ app: TestApp; caller: Caller }> {
    const app = state === 'setup-from-login' ? required : t;
    const email = uniqueEmail('fuzz');
    if (state === 'anonymous') {
      // The anonymous csrf_token of GET /login (not checked on anonymous endpoints, but sent).
      const info = await app.app.inject({ method: 'GET', url: '/login' });
      const caller = { email, cookie: cookieOf(info), csrf: json(info).response.csrf_token, stateToken: null, wear: 0 };
      return { app, caller };
    }
    const user = await insertUser(t.database.db, { email, passwordHash, fsUniquifier: newFsUniquifier() });
    if (state === 'pending-second-factor')
      await t.database.db.updateTable('users').set({ tf_primary_method: 'email' }).where('id', '=', user!.id).execute();
    const login = await send(app, '/login', null, {
      csrf: false,
      payload: JSON.stringify({ email, password: PASSWORD }),
      contentType: 'application/json',
    });
    assert.equal(login.statusCode, 200, login.body);
    const caller: Caller = {
      email,
      cookie: cookieOf(login),
      csrf: json(login).response.csrf_token,
      stateToken: null,
      wear: 0,
    };
    if (state === 'pending-setup') {
      const setup = await send(app, '/tf-setup', caller, {
        csrf: true,
        payload: JSON.stringify({ setup: 'authenticator' }),
        contentType: 'application/json',
      });
      assert.equal(setup.statusCode, 200, setup.body);
      caller.cookie = cookieOf(setup, caller.cookie);
      caller.csrf = json(setup).response.csrf_token;
      caller.stateToken = json(setup).response.tf_state_token;
    }
    return { app, caller };
  }

  // Values a field may take: near-valid words of the API, and everything JSON can carry.
  const interesting = (caller: Caller, enums: readonly string[]) =>
    fc.oneof(
      fc.constantFrom(
        ...enums,
        caller.email,
        PASSWORD,
        caller.csrf,
        '123456',
        ' 123 456 ',
        '+44 20 7946 0958',
        '+1 415 555 0123',
        'email',
        'sms',
        'authenticator',
        'disable',
        'help',
        'recovery_code',
        'abcdef012345',
        '',
        ' ',
        '\u0000',
        'x'.repeat(5000),
      ),
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.anything({ maxDepth: 2, maxKeys: 4 }),
    );

  const body = (op: PostOperation, caller: Caller) =>
    fc.oneof(
      { weight: 4, arbitrary: knownFields(op, caller) },
      { weight: 2, arbitrary: nearValid(op, caller) },
      { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => ({ payload: JSON.stringify(v) ?? 'null' })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ payload: s })) },
      { weight: 1, arbitrary: fc.constant({ payload: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }) }) },
    );

  // Every field present with a plausible value: reaches the checks behind the input validation.
  const nearValid = (op: PostOperation, caller: Caller) =>
    fc
      .record(
        Object.fromEntries(
          [...op.fields].map(([name, enums]) => [
            name,
            fc.constantFrom(...enums, caller.email, PASSWORD, caller.csrf, '123456', '+44 20 7946 0958'),
          ]),
        ),
      )
      .map((fields) => ({ payload: JSON.stringify(fields) }));

  const knownFields = (op: PostOperation, caller: Caller) =>
    fc
      .tuple(
        fc.record(Object.fromEntries([...op.fields].map(([name, enums]) => [name, interesting(caller, enums)])), {
          requiredKeys: [],
        }),
        fc.dictionary(fc.string({ maxLength: 12 }), interesting(caller, []), { maxKeys: 2 }),
      )
      .map(([known, extra]) => ({ payload: JSON.stringify({ ...extra, ...known }) }));

  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  // The path parameter: the caller's own token, a mangled one, or anything URL-safe
  // (at most 200 characters: longer ones are hardening A's 414 case).
  const stateTokenParam = (caller: Caller) =>
    fc.oneof(
      fc.constant(caller.stateToken ?? 'no-token'),
      fc.constant(`${caller.stateToken ?? ''}x`),
      // (Never empty: `/tf-setup/` is not a documented path.)
      // (Nor only dots: `/tf-setup/..` is normalised to another path.)
      fc.stringMatching(/^[A-Za-z0-9._~-]{1,200}$/).filter((s) => !/^\.*$/.test(s)),
    );
  const query = fc.constantFrom('', '?include_auth_token', '?include_auth_token=false');

  // Proof that each state was really reached: an answer only a caller in that state gets.
  const witness: Record<StateName, string> = {
    anonymous: 'UNAUTHENTICATED',
    'pending-second-factor': 'TWO_FACTOR_INVALID_TOKEN',
    'setup-from-login': 'TWO_FACTOR_METHOD_NOT_AVAILABLE',
    'pending-setup': 'TWO_FACTOR_INVALID_TOKEN',
    'signed-in': 'ANONYMOUS_USER_REQUIRED',
  };

  for (const state of [
    'anonymous',
    'pending-second-factor',
    'setup-from-login',
    'pending-setup',
    'signed-in',
  ] as const) {
    test(`${state}: no 5xx, always the envelope`, async () => {
      let current = await buildCaller(state);
      let answered = 0;
      const seen = new Set<string>();
      for (const op of posts) {
        for (const csrf of [true, false]) {
          await fc.assert(
            fc.asyncProperty(
              fc
                .constant(null)
                .chain(() => fc.tuple(body(op, current.caller), contentType, stateTokenParam(current.caller), query)),
              async ([{ payload }, type, token, q]) => {
                const { app, caller } = current;
                const url = op.path.replace('{tf_state_token}', token) + q;
                const res = await send(app, url, caller, {
                  csrf,
                  payload,
                  contentType: type,
                  ip: `198.18.${randomInt(256)}.${randomInt(1, 255)}`,
                });
                answered++;
                assert.ok(res.statusCode < 500, `${op.path} ${state} → ${res.statusCode}: ${res.body.slice(0, 300)}`);
                const envelope = json(res);
                assert.equal(envelope.meta?.code, res.statusCode, `${op.path}: meta.code`);
                assert.equal(typeof envelope.response, 'object', `${op.path}: response`);
                assert.equal(res.headers['cache-control'], 'no-store');
                // A success or a refusal may have moved the caller on: start again from the state.
                const code = envelope.response?.error_code as string | undefined;
                seen.add(code ?? String(res.statusCode));
                if (res.statusCode === 200 || res.statusCode === 401 || res.statusCode === 429) caller.wear += 3;
                else if (
                  code &&
                  /PERMISSION_DENIED|INVALID_TOKEN|INVALID_RECOVERY|GENERIC_AUTHN|INVALID_PASSWORD/.test(code)
                )
                  caller.wear++;
                if (caller.wear >= 3) current = await buildCaller(state);
              },
            ),
            { numRuns: RUNS_PER_COMBINATION },
          );
        }
      }
      assert.equal(answered, posts.length * 2 * RUNS_PER_COMBINATION);
      assert.ok(seen.has(witness[state]), `${state} reached: ${[...seen].sort().join(', ')}`);
    });
  }
});
