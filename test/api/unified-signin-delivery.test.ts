import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import type { FakeSendgrid } from '../helpers/fake-sendgrid.js';
import type { FakeTwilio } from '../helpers/fake-twilio.js';
import { onlyCode, startProviderApp, TWILIO_SID, type ProviderApp } from '../helpers/provider-app.js';
import { signedIn, STEP_MS } from '../helpers/two-factor.js';
import { US_ENV } from '../helpers/unified-signin.js';

/**
 * Unified sign-in codes through the real @sendgrid/mail and twilio clients,
 * pointed at local servers that speak the providers' APIs: the setup's code and
 * the sign-in's, by e-mail and by SMS. No provider client is mocked.
 */
describe(`unified sign-in codes through SendGrid and Twilio (${DB_KIND})`, () => {
  let sendgrid: FakeSendgrid;
  let twilio: FakeTwilio;
  let t: TestApp;
  let app: ProviderApp;
  before(async () => {
    app = await startProviderApp(US_ENV);
    ({ t, sendgrid, twilio } = app);
  });
  after(() => app.stop());

  test('e-mail: setup code and sign-in code arrive through SendGrid; the code signs in', async () => {
    const email = uniqueEmail('usd');
    await createUser(t.database, email, 'password-1');
    const s = await signedIn(t, email, 'password-1');
    const setup = await s.post('/us-setup', { chosen_method: 'email' });
    assert.equal(setup.statusCode, 200, setup.body);
    const setupMail = sendgrid.mails().at(-1)!;
    assert.deepEqual(setupMail.to, [email]);
    assert.equal(
      (await s.post(`/us-setup/${setup.data.response.state}`, { passcode: onlyCode(setupMail.text) })).statusCode,
      200,
    );
    t.clock.advance(STEP_MS + 1000);

    const c = new Client(() => t.app);
    const sent = await c.post('/us-signin/send-code', { identity: email, chosen_method: 'email' });
    assert.equal(sent.statusCode, 200, sent.body);
    const mail = sendgrid.mails().at(-1)!;
    assert.deepEqual(mail.to, [email]);
    assert.equal(mail.from, 'security@tfa.example');
    const res = await c.post('/us-signin', { identity: email, passcode: onlyCode(mail.text) });
    assert.equal(res.statusCode, 200, res.body);
    // e-mail is in SECURITY_US_MFA_REQUIRED, but this user has no second factor.
    assert.equal(res.data.response.tf_required, false);
  });

  test('SMS: setup code and sign-in code arrive through Twilio; the code signs in', async () => {
    const email = uniqueEmail('usd');
    await createUser(t.database, email, 'password-1');
    const s = await signedIn(t, email, 'password-1');
    const setup = await s.post('/us-setup', { chosen_method: 'sms', phone: '+44 20 7946 0958' });
    assert.equal(setup.statusCode, 200, setup.body);
    assert.equal(setup.data.response.phone, '+442079460958');
    const setupSms = twilio.messages().at(-1)!;
    assert.equal(setupSms.to, '+442079460958');
    assert.equal(
      (await s.post(`/us-setup/${setup.data.response.state}`, { passcode: onlyCode(setupSms.body) })).statusCode,
      200,
    );
    t.clock.advance(STEP_MS + 1000);

    const c = new Client(() => t.app);
    assert.equal((await c.post('/us-signin/send-code', { identity: email, chosen_method: 'sms' })).statusCode, 200);
    const req = twilio.requests.at(-1)!;
    assert.equal(req.path, `/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`);
    const sms = twilio.messages().at(-1)!;
    assert.equal(sms.to, '+442079460958');
    const res = await c.post('/us-signin?include_auth_token', { identity: email, passcode: onlyCode(sms.body) });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.data.response.user.authentication_token);
  });
});
