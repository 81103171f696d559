import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type * as ClientPackage from '../../packages/client/src/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { loadClientPackage } from './build.js';

/** The built client package and a real service on 127.0.0.1 for it to call; set once the file's `before` ran. */
export interface Served {
  pkg: typeof ClientPackage;
  t: TestApp;
  /** The service's base URL, for `createClient({ baseUrl })`. */
  origin: string;
}

/**
 * Registers the test file's root `before`/`after`: loads the package as published,
 * starts a test app with `env` listening on 127.0.0.1, hands both to `ready` within
 * the same hook, and closes the app afterwards. (Assigned from a second root `before`
 * of the test file instead, the values were still unset in the suites' own `before`
 * hooks on Node 20; the cause was not pinned down.)
 */
export function servedPackage(env: Record<string, string>, ready: (served: Served) => void): Served {
  const served = {} as Served;
  before(async () => {
    served.pkg = await loadClientPackage();
    served.t = await createTestApp(env);
    await served.t.app.listen({ host: '127.0.0.1', port: 0 });
    served.origin = `http://127.0.0.1:${(served.t.app.server.address() as AddressInfo).port}`;
    ready(served);
  });
  after(async () => {
    await served.t?.close();
  });
  return served;
}

/** Awaits a flow that must fail with the service's error `code`; returns the TfaApiError. */
export async function rejectsWith(
  served: Served,
  promise: Promise<unknown>,
  code: string,
): Promise<ClientPackage.TfaApiError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof served.pkg.TfaApiError, `a TfaApiError, not ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}
