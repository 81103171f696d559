import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { createUser, uniqueEmail } from './app.js';
import { Client } from './client.js';
import { enrolAuthenticator, signedIn, STEP_MS } from './two-factor.js';

let phones = 0;
/** A distinct number per call, so the per-destination send limits of one test never touch another. */
export function uniquePhone(): string {
  phones++;
  return `+1415555${String(2600 + phones).padStart(4, '0')}`;
}

export interface Enrolled {
  email: string;
  id: number;
  /** The signed-in, fresh client that enrolled. */
  client: Client;
  key?: string;
  phone?: string;
}

/** A user with an authenticator (oathtool) or SMS second factor, still signed in on `client`. */
export async function enrolledUser(t: TestApp, method: 'authenticator' | 'sms'): Promise<Enrolled> {
  const email = uniqueEmail(method);
  const user = await createUser(t.database, email, 'password-1');
  const client = await signedIn(t, email, 'password-1');
  if (method === 'authenticator') return { email, id: user.id, client, key: await enrolAuthenticator(t, client) };
  const phone = uniquePhone();
  assert.equal((await client.post('/tf-setup', { setup: 'sms', phone })).statusCode, 200);
  const ok = await client.post('/tf-validate', { code: t.senders.lastCode(phone) });
  assert.equal(ok.statusCode, 200, ok.body);
  // Past the 30 s send gap, so the next sign-in may text a code at once.
  t.clock.advance(STEP_MS);
  return { email, id: user.id, client, phone };
}

/** Generates recovery codes on a signed-in, fresh client. */
export async function generateCodes(c: Client): Promise<string[]> {
  const res = await c.post('/mf-recovery-codes');
  assert.equal(res.statusCode, 200, res.body);
  return res.data.response.recovery_codes as string[];
}

/** A client holding a pending sign-in in state `ready`. */
export async function pendingSignIn(t: TestApp, email: string): Promise<Client> {
  const c = new Client(() => t.app);
  const res = await c.login(email, 'password-1');
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.data.response.tf_state, 'ready');
  return c;
}
