import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from './app.js';
import { FakeSendgrid } from './fake-sendgrid.js';
import { FakeTwilio } from './fake-twilio.js';

/** A test app whose senders are the real @sendgrid/mail and twilio clients, pointed at local fakes of both APIs. */
export interface ProviderApp {
  t: TestApp;
  sendgrid: FakeSendgrid;
  twilio: FakeTwilio;
  stop(): Promise<void>;
}

export const SENDGRID_KEY = 'SG.test-key';
export const TWILIO_SID = 'AC0123456789abcdef0123456789abcdef';

/** Starts both fakes and the app (`env` on top of the providers' settings); `stop()` ends all three. */
export async function startProviderApp(env: Record<string, string> = {}): Promise<ProviderApp> {
  const sendgrid = await FakeSendgrid.start({ apiKey: SENDGRID_KEY });
  const twilio = await FakeTwilio.start({ accountSid: TWILIO_SID, authToken: 'twilio-token' });
  const t = await createTestApp(
    {
      EMAIL_SERVICE: 'sendgrid',
      SENDGRID_API_KEY: SENDGRID_KEY,
      SENDGRID_API_URL: sendgrid.url,
      SECURITY_EMAIL_SENDER: 'security@tfa.example',
      ...twilio.serviceEnv(),
      ...env,
    },
    undefined,
    { senders: 'configured' },
  );
  return {
    t,
    sendgrid,
    twilio,
    async stop() {
      await t.close();
      await sendgrid.stop();
      await twilio.stop();
    },
  };
}

/** The one 6-digit code in a message's text (fails the test if there is none, or more than one). */
export function onlyCode(text: string | undefined): string {
  const codes = (text ?? '').match(/\b\d{6}\b/g) ?? [];
  assert.equal(codes.length, 1, `exactly one 6-digit number in: ${text}`);
  return codes[0]!;
}
