import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import type { FakeSendgrid } from '../helpers/fake-sendgrid.js';
import type { FakeTwilio } from '../helpers/fake-twilio.js';
import { onlyCode, startProviderApp, TWILIO_SID, type ProviderApp } from '../helpers/provider-app.js';
import { signedIn } from '../helpers/two-factor.js';

/**
 * Codes through the real @sendgrid/mail and twilio clients, pointed at local
 * servers that speak the providers' APIs (SPEC §7), and the flood limits of
 * SPEC §4.2. No test reaches the internet; no provider client is mocked.
 */
describe(`delivery through SendGrid and Twilio (${DB_KIND})`, () => {
  let sendgrid: FakeSendgrid;
  let twilio: FakeTwilio;
  let t: TestApp;
  let app: ProviderApp;
  before(async () => {
    app = await startProviderApp();
    ({ t, sendgrid, twilio } = app);
  });
  after(() => app.stop());
  beforeEach(() => {
    sendgrid.reset();
    twilio.reset();
  });

  async function emailUser(): Promise<string> {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    assert.equal((await c.post('/tf-setup', { setup: 'email' })).statusCode, 200);
    const mail = sendgrid.mails().at(-1)!;
    assert.equal((await c.post('/tf-validate', { code: onlyCode(mail.text) })).statusCode, 200);
    t.clock.advance(31_000);
    return email;
  }

  test('SendGrid receives the sign-in code: bearer key, sender, recipient, code in text and HTML', async () => {
    const email = await emailUser();
    const c = new Client(() => t.app);
    const login = await c.login(email, 'password-1');
    assert.equal(login.data.response.tf_method, 'email');
    const req = sendgrid.requests.at(-1)!;
    assert.equal(req.path, '/v3/mail/send');
    assert.equal(req.headers.authorization, 'Bearer SG.test-key');
    const mail = sendgrid.mails().at(-1)!;
    assert.deepEqual(mail.to, [email]);
    assert.equal(mail.from, 'security@tfa.example');
    const code = onlyCode(mail.text);
    assert.ok(mail.html?.includes(code));
    assert.equal((await c.post('/tf-validate', { code })).statusCode, 200);
  });

  test('Twilio receives the SMS: basic auth, From, To in E.164, the code as the only number', async () => {
    const email = uniqueEmail();
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    assert.equal((await c.post('/tf-setup', { setup: 'sms', phone: '+44 20 7946 0958' })).statusCode, 200);
    const req = twilio.requests.at(-1)!;
    assert.equal(req.path, `/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`);
    assert.equal(req.headers.authorization, `Basic ${Buffer.from(`${TWILIO_SID}:twilio-token`).toString('base64')}`);
    const sms = twilio.messages().at(-1)!;
    assert.equal(sms.to, '+442079460958');
    assert.equal(sms.from, '+15005550006');
    assert.equal((await c.post('/tf-validate', { code: onlyCode(sms.body) })).statusCode, 200);
  });

  test('a provider 500 is retried once and the sign-in goes on', async () => {
    const email = await emailUser();
    sendgrid.reset();
    sendgrid.failNext(1, 500);
    const c = new Client(() => t.app);
    const login = await c.login(email, 'password-1');
    assert.equal(login.statusCode, 200, login.body);
    assert.equal(sendgrid.requests.length, 2);
    assert.equal((await c.post('/tf-validate', { code: onlyCode(sendgrid.mails().at(-1)!.text) })).statusCode, 200);
  });

  test('a provider that keeps failing gives FAILED_TO_SEND_CODE; the user finishes with a later code', async () => {
    const email = await emailUser();
    sendgrid.reset();
    sendgrid.failNext(2, 503);
    const c = new Client(() => t.app);
    const failed = await c.login(email, 'password-1');
    assert.equal(failed.statusCode, 500);
    assert.equal(failed.data.response.error_code, 'FAILED_TO_SEND_CODE');
    assert.ok(!JSON.stringify(failed.data).includes('SG.test-key'));
    // The failed send is not counted against the user: retrying at once works.
    const retry = await c.login(email, 'password-1');
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal((await c.post('/tf-validate', { code: onlyCode(sendgrid.mails().at(-1)!.text) })).statusCode, 200);
  });

  test('a provider that hangs gives FAILED_TO_SEND_CODE after the timeouts, not never', async () => {
    const email = await emailUser();
    sendgrid.reset();
    sendgrid.hangNext(2);
    const c = new Client(() => t.app);
    const started = Date.now();
    const failed = await c.login(email, 'password-1');
    assert.equal(failed.data.response.error_code, 'FAILED_TO_SEND_CODE');
    // Two attempts of 5 s each; the lower bound is exact, the upper one only proves it gave up.
    const took = Date.now() - started;
    assert.ok(took >= 10_000 && took < 20_000, `took ${took} ms`);
    const retry = await c.login(email, 'password-1');
    assert.equal(retry.statusCode, 200);
    assert.equal((await c.post('/tf-validate', { code: onlyCode(sendgrid.mails().at(-1)!.text) })).statusCode, 200);
  });

  test('send limits: one code per 30 s; over the limit nothing is sent and the earlier code stays valid', async () => {
    const email = await emailUser();
    sendgrid.reset();
    const c = new Client(() => t.app);
    await c.login(email, 'password-1');
    const first = onlyCode(sendgrid.mails().at(-1)!.text);
    t.clock.advance(10_000);
    const again = await c.login(email, 'password-1');
    assert.equal(again.statusCode, 429);
    assert.equal(again.data.response.error_code, 'RATE_LIMITED');
    assert.equal(again.headers['retry-after'], '20');
    assert.equal(sendgrid.mails().length, 1, 'nothing sent over the limit');
    assert.equal((await c.post('/tf-validate', { code: first })).statusCode, 200, 'the earlier code still works');
  });

  test('send limits: at most 10 codes an hour per user, whatever the spacing', async () => {
    const email = await emailUser();
    // emailUser sent one setup code; nine more fit in the hour.
    sendgrid.reset();
    for (let i = 0; i < 9; i++) {
      const res = await new Client(() => t.app).login(email, 'password-1');
      assert.equal(res.statusCode, 200, `send ${i + 2}: ${res.body}`);
      t.clock.advance(31_000);
    }
    const over = await new Client(() => t.app).login(email, 'password-1');
    assert.equal(over.statusCode, 429);
    assert.ok(Number(over.headers['retry-after']) > 60);
    assert.equal(sendgrid.mails().length, 9);
  });

  test('send limits per destination: two accounts cannot flood one phone', async () => {
    const phone = '+14155550199';
    const codes: number[] = [];
    for (let i = 0; i < 2; i++) {
      const email = uniqueEmail();
      await createUser(t.database, email, 'password-1');
      const c = await signedIn(t, email, 'password-1');
      codes.push((await c.post('/tf-setup', { setup: 'sms', phone })).statusCode);
    }
    assert.deepEqual(codes, [200, 429]);
    assert.equal(twilio.messages().length, 1);
  });

  test('a concurrent burst of logins for one user sends one code', async () => {
    const email = await emailUser();
    sendgrid.reset();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => new Client(() => t.app).login(email, 'password-1')),
    );
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    assert.equal(results.filter((r) => r.statusCode === 429).length, 9);
    assert.equal(sendgrid.mails().length, 1);
  });
});
