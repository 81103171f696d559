/**
 * Security e-mails (README, "Security e-mails"), sent by the delivery loop from
 * the outbox through the configured sender (the real SendGrid client against a
 * SendGrid wire fake on 127.0.0.1).
 *
 * Threats: a takeover goes unnoticed because the owner is never told that the
 * second factor changed; a notice leaks a code or secret; a provider outage
 * sends a notice twice or loses it; an operator who switched a notice off
 * still gets it sent.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { runCommand } from '../../src/cli/run-command.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { drain, stopLoops, testLoop, writeEvents } from '../helpers/events.js';
import { FakeSendgrid, type ReceivedMail } from '../helpers/fake-sendgrid.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { enrolledUser, generateCodes, pendingSignIn } from '../helpers/rescue.js';
import { STEP_MS } from '../helpers/two-factor.js';

const API_KEY = 'SG.events-test-key';
let sendgrid: FakeSendgrid;
let t: TestApp;
let receiver: WebhookReceiver;

const ENV = {
  SECURITY_MULTI_FACTOR_RECOVERY_CODES_N: '3',
  SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: '3',
};
const senderEnv = (): Record<string, string> => ({
  EMAIL_SERVICE: 'sendgrid',
  SENDGRID_API_KEY: API_KEY,
  SENDGRID_API_URL: sendgrid.url,
  SECURITY_EMAIL_SENDER: 'security@example.com',
});

before(async () => {
  sendgrid = await FakeSendgrid.start({ apiKey: API_KEY });
  receiver = await WebhookReceiver.start();
  // The app's own e-mails (codes) go to recording senders; the fake sees only what the loop sends.
  t = await createTestApp(ENV);
});
afterEach(stopLoops);
after(async () => {
  await t.close();
  await sendgrid.stop();
  await receiver.stop();
});

async function fresh(): Promise<void> {
  await t.database.db.deleteFrom('event_outbox').execute();
  sendgrid.reset();
}

/** Mails SendGrid accepted (202), to one address, in the order they arrived. */
function acceptedTo(to: string): ReceivedMail[] {
  const mails = sendgrid.mails();
  return sendgrid.requests.flatMap((r, i) =>
    r.answeredStatus === 202 && mails[i]!.to.includes(to) ? [mails[i]!] : [],
  );
}

test('each security event sends its notice once, to the user, in order, with no code or secret in it (nor in the webhooks)', async () => {
  await fresh();
  const { loop } = testLoop(
    t.database,
    t.clock,
    { ...ENV, ...senderEnv(), WEBHOOK_URLS: receiver.url },
    { senders: 'configured' },
  );
  const u = await enrolledUser(t, 'authenticator'); // tf.setup_changed
  const codes = await generateCodes(u.client); // recovery_codes.generated
  await u.client.post('/logout');
  for (const code of codes.slice(0, 2)) {
    // recovery_code.used: 2 left (notice), then 1 left (the warning)
    t.clock.advance(STEP_MS);
    const c = await pendingSignIn(t, u.email);
    assert.equal((await c.post('/tf-rescue', { help_setup: 'recovery_code' })).statusCode, 200);
    assert.equal((await c.post('/mf-recovery', { code })).statusCode, 200);
    await c.post('/logout');
  }
  t.clock.advance(STEP_MS);
  const locked = await pendingSignIn(t, u.email);
  const wrong = [];
  for (let i = 0; i < 3; i++) wrong.push((await locked.post('/tf-validate', { code: '000000' })).statusCode);
  assert.equal(wrong.at(-1), 429, 'tf.lockout at the third wrong code');
  await writeEvents(t.database, t.clock, [
    { type: 'device.remembered', userId: u.id, details: { device: 7 } },
    { type: 'webauthn.registered', userId: u.id, details: { credential: 1 } },
    { type: 'webauthn.deleted', userId: u.id, details: { credential: 1 } },
  ]);
  await runCommand(
    { command: 'users:reset-2fa', args: { email: u.email, reason: 'lost phone, identity checked' } },
    { config: t.config, db: t.database.db, readStdin: async () => '' },
  );
  const other = await enrolledUser(t, 'authenticator');
  const off = await other.client.post('/tf-setup', { setup: 'disable' });
  assert.equal(off.statusCode, 200, off.body);

  await drain(t.database, t.clock, loop);
  assert.deepEqual(
    acceptedTo(u.email).map((m) => m.subject),
    [
      'Your two-factor sign-in was set up or changed',
      'New recovery codes were made',
      'A recovery code was used',
      'A recovery code was used: make new ones soon',
      'Two-factor sign-in locked after wrong codes',
      'A new device was remembered',
      'A new security key was added',
      'A security key was removed',
      'Your two-factor sign-in was reset by support',
    ],
  );
  assert.deepEqual(
    acceptedTo(other.email).map((m) => m.subject),
    ['Your two-factor sign-in was set up or changed', 'Two-factor sign-in was turned off'],
  );
  const mails = [...acceptedTo(u.email), ...acceptedTo(other.email)];
  assert.match(mails[2]!.text!, /You have 2 unused recovery codes left/);
  assert.match(mails[3]!.text!, /You have 1 unused recovery code left/);
  const secrets = [u.key!, other.key!, ...codes, 'password-1', t.config.SECRET_KEY];
  for (const m of mails) {
    assert.equal(m.from, 'security@example.com');
    for (const body of [m.subject!, m.text!, m.html!]) {
      for (const s of secrets) assert.ok(!body.toLowerCase().includes(s.toLowerCase()), `no secret in "${m.subject}"`);
      assert.doesNotMatch(body, /\d{6}/, 'no one-time code');
    }
  }
  // The webhooks of the same flow: every event, none with a secret.
  const hooks = receiver.accepted();
  assert.ok(hooks.length >= 20, `${hooks.length} webhooks`);
  for (const h of hooks)
    for (const s of secrets)
      assert.ok(!h.request.rawBody.toLowerCase().includes(s.toLowerCase()), `no secret in the ${h.type} webhook`);
  assert.ok(hooks.some((h) => h.type === 'recovery_codes.generated'));
});

test('SECURITY_NOTIFICATIONS=none sends no notice; a list sends only the notices it names', async () => {
  await fresh();
  const user = await createUser(t.database, uniqueEmail('quiet'), 'password-1');
  const events = [
    { type: 'tf.setup_changed' as const, userId: user.id, details: { method: 'sms' } },
    { type: 'recovery_code.used' as const, userId: user.id, details: { remaining: 1 } },
    { type: 'tf.lockout' as const, userId: user.id },
  ];
  const none = testLoop(
    t.database,
    t.clock,
    { ...senderEnv(), SECURITY_NOTIFICATIONS: 'none' },
    { senders: 'configured' },
  );
  await writeEvents(t.database, t.clock, events);
  await drain(t.database, t.clock, none.loop);
  assert.equal(sendgrid.requests.length, 0);
  const emailRows = await t.database.db
    .selectFrom('event_deliveries')
    .where('target', '=', 'email')
    .selectAll()
    .execute();
  assert.deepEqual(emailRows, [], 'no e-mail is even queued');
  await none.loop.stop();

  // Only the plain "code used" notice: the warning falls back to it, the other events send nothing.
  const some = testLoop(
    t.database,
    t.clock,
    { ...senderEnv(), SECURITY_NOTIFICATIONS: 'recovery_code_used' },
    { senders: 'configured' },
  );
  await writeEvents(t.database, t.clock, events);
  await drain(t.database, t.clock, some.loop);
  assert.deepEqual(
    acceptedTo(user.email).map((m) => m.subject),
    ['A recovery code was used'],
  );
});

test('a provider outage delays a notice but never sends it twice; the sender’s retries and the loop’s backoff both count', async () => {
  await fresh();
  const user = await createUser(t.database, uniqueEmail('outage'), 'password-1');
  const { loop, metrics } = testLoop(t.database, t.clock, senderEnv(), { senders: 'configured' });
  await writeEvents(t.database, t.clock, [
    { type: 'tf.disabled', userId: user.id },
    { type: 'tf.lockout', userId: user.id },
  ]);
  // The SendGrid sender retries a 500 once; five 500s fail two rounds and part of a third.
  sendgrid.failNext(5, 500);
  await drain(t.database, t.clock, loop);
  assert.deepEqual(
    acceptedTo(user.email).map((m) => m.subject),
    ['Two-factor sign-in was turned off', 'Two-factor sign-in locked after wrong codes'],
  );
  assert.equal(sendgrid.requests.length, 7);
  const text = await metrics.registry.metrics();
  assert.match(text, /tfa_security_notices_total\{outcome="sent"\} 2/);
  assert.match(text, /tfa_security_notices_total\{outcome="failed"\} 2/);
});
