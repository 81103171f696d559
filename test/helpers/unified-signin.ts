import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import type { Client } from './client.js';
import { oathtool, scanQrSvg, svgOfDataUri } from './real-clients.js';
import { STEP_MS } from './two-factor.js';

/** Unified sign-in on, every method, SMS anywhere (the test numbers are US ones). */
export const US_ENV = { SECURITY_UNIFIED_SIGNIN: 'true' };

/**
 * Adds a unified sign-in method for a signed-in client as a person would: the
 * authenticator's QR code scanned (zbarimg) and its code typed (oathtool), or the
 * code read from the recorded e-mail or SMS. Returns the authenticator key.
 */
export async function usSetup(t: TestApp, c: Client, method: string, phone?: string): Promise<string | undefined> {
  const setup = await c.post('/us-setup', phone ? { chosen_method: method, phone } : { chosen_method: method });
  assert.equal(setup.statusCode, 200, setup.body);
  const r = setup.data.response;
  let passcode: string;
  if (method === 'authenticator') {
    assert.equal(scanQrSvg(svgOfDataUri(r.authr_qrcode)), r.authr_uri, 'the QR code encodes authr_uri');
    passcode = oathtool(r.authr_key, t.clock.now());
  } else {
    passcode = t.senders.lastCode(r.phone ?? (await c.get('/me')).data.response.user.email);
  }
  const ok = await c.post(`/us-setup/${r.state}`, { passcode });
  assert.equal(ok.statusCode, 200, ok.body);
  t.clock.advance(STEP_MS);
  return r.authr_key as string | undefined;
}
