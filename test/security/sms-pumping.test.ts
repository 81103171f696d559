/*
 * Threat (issue #15, item 10): SMS pumping. Each self-registered account can
 * make the service text one new number: a script with many accounts (or one
 * address rotating through them) turns the operator's Twilio account into a
 * revenue stream for whoever owns premium ranges. The per-user and
 * per-destination limits do not bound the total. Defences: a country
 * allow-list, a service-wide SMS budget per hour and per day, and an SMS limit
 * per client address, each refusal counted in a metric and audited. The budgets
 * must be exact under a concurrent burst spread over two instances, because an
 * attacker sends in parallel. Sends go through the real twilio client to a
 * local Twilio fake, so "sent" means an HTTP request reached the provider.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createTestApp, createUser, METRICS_AUTH, uniqueEmail, type TestApp } from '../helpers/app.js';
import type { Client } from '../helpers/client.js';
import { DB_KIND } from '../helpers/db.js';
import { FakeTwilio } from '../helpers/fake-twilio.js';
import { sample } from '../helpers/prometheus.js';
import { signedIn } from '../helpers/two-factor.js';

const SID = 'AC0123456789abcdef0123456789abcdef';
const HOUR_MS = 3600 * 1000;
let numberCounter = 100;
/** A fresh valid UK number (Ofcom's drama range 020 7946 0xxx). */
const freshNumber = (): string => `+44 20 7946 0${++numberCounter}`;

describe(`SMS cost limits against SMS pumping (${DB_KIND})`, () => {
  let twilio: FakeTwilio;
  before(async () => {
    twilio = await FakeTwilio.start({ accountSid: SID, authToken: 'twilio-token' });
  });
  after(() => twilio.stop());
  beforeEach(() => twilio.reset());

  /**
   * How many numbers got an SMS. Every send in these tests goes to a new number, so this is
   * the number of sends the budgets let through. The raw message count can be higher on a
   * loaded machine: an attempt that outlives its timeout is retried once (src/senders/retry.ts)
   * and the provider may have taken both (seen: 7 messages for 5 allowed sends).
   */
  const numbersReached = () => new Set(twilio.messages().map((m) => m.to)).size;

  const env = (extra: Record<string, string>) => ({
    ...twilio.serviceEnv(),
    TRUST_PROXY: 'true',
    ...extra,
  });

  /** A signed-in user whose requests come from `ip`. */
  async function member(t: TestApp, ip: string): Promise<Client> {
    const email = uniqueEmail('sms');
    await createUser(t.database, email, 'password-1');
    const c = await signedIn(t, email, 'password-1');
    c.headers['x-forwarded-for'] = ip;
    return c;
  }

  const metric = async (t: TestApp, reason: string) =>
    sample(
      (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_AUTH })).body,
      'tfa_sms_refused_total',
      { reason },
    ) ?? 0;
  const audited = async (t: TestApp, reason: string) =>
    (
      await t.database.db.selectFrom('audit_events').select('details').where('type', '=', 'sms.refused').execute()
    ).filter((r) => (r.details as { reason?: string }).reason === reason).length;

  test('a number outside SECURITY_SMS_ALLOWED_COUNTRIES is refused before anything is sent', async () => {
    const t = await createTestApp(env({ SECURITY_SMS_ALLOWED_COUNTRIES: '+44,DE' }), undefined, {
      senders: 'configured',
    });
    try {
      const c = await member(t, '198.51.100.1');
      const us = await c.post('/tf-setup', { setup: 'sms', phone: '+1 415 555 0123' });
      assert.equal(us.statusCode, 400);
      assert.equal(us.data.response.error_code, 'SMS_COUNTRY_NOT_ALLOWED');
      assert.ok(us.data.response.field_errors.phone);
      assert.equal(twilio.messages().length, 0);
      assert.equal(await metric(t, 'country'), 1);
      assert.equal(await audited(t, 'country'), 1);

      assert.equal((await c.post('/tf-setup', { setup: 'sms', phone: freshNumber() })).statusCode, 200, 'by prefix');
      t.clock.advance(31_000);
      assert.equal((await c.post('/tf-setup', { setup: 'sms', phone: '+49 30 901820' })).statusCode, 200, 'by country');
      assert.deepEqual(
        twilio.messages().map((m) => m.to?.slice(0, 3)),
        ['+44', '+49'],
      );
    } finally {
      await t.close();
    }
  });

  test('the hourly and daily budgets hold exactly under a burst over two instances', async () => {
    const limits = { SECURITY_SMS_BUDGET_HOURLY: '5', SECURITY_SMS_BUDGET_DAILY: '8', SECURITY_SMS_IP_HOURLY: '100' };
    const a = await createTestApp(env(limits), undefined, { senders: 'configured' });
    const b = await createTestApp(env(limits), a.database, { senders: 'configured', clock: a.clock });
    try {
      // 20 accounts, each choosing a new number, from 20 addresses, half on each instance, all at once.
      const burst = async (n: number) => {
        const clients = await Promise.all(
          Array.from({ length: n }, async (_, i) => member(i % 2 ? b : a, `203.0.113.${i + 1}`)),
        );
        return Promise.all(clients.map((c) => c.post('/tf-setup', { setup: 'sms', phone: freshNumber() })));
      };
      const first = await burst(20);
      assert.equal(first.filter((r) => r.statusCode === 200).length, 5, 'exactly the hourly budget');
      const refused = first.filter((r) => r.statusCode === 429);
      assert.equal(refused.length, 15);
      for (const r of refused) {
        assert.equal(r.data.response.error_code, 'RATE_LIMITED');
        assert.ok(Number(r.headers['retry-after']) > 0 && Number(r.headers['retry-after']) <= 3600);
      }
      assert.equal(numbersReached(), 5, 'five numbers got an SMS');
      assert.equal((await metric(a, 'hourly_budget')) + (await metric(b, 'hourly_budget')), 15);
      assert.equal(await audited(a, 'hourly_budget'), 15);

      // An hour later the hourly budget is free again, but the day has room for 3 more only.
      a.clock.advance(HOUR_MS + 1000); // b's clock too: they share one
      const second = await burst(10);
      assert.equal(second.filter((r) => r.statusCode === 200).length, 3, 'exactly the rest of the daily budget');
      assert.equal(numbersReached(), 8);
      assert.equal(await audited(a, 'daily_budget'), 7);
      const retry = Number(second.find((r) => r.statusCode === 429)!.headers['retry-after']);
      assert.ok(retry > 22 * 3600 && retry <= 23 * 3600, `the oldest send of the day frees a slot: ${retry} s`);
    } finally {
      await b.close();
      await a.close();
    }
  });

  test('one client address triggers at most SECURITY_SMS_IP_HOURLY SMS an hour, whatever the account', async () => {
    const t = await createTestApp(env({ SECURITY_SMS_IP_HOURLY: '3' }), undefined, { senders: 'configured' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await member(t, '192.0.2.77');
        statuses.push((await c.post('/tf-setup', { setup: 'sms', phone: freshNumber() })).statusCode);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.equal(await audited(t, 'ip_limit'), 2);
      assert.equal(await metric(t, 'ip_limit'), 2);
      const elsewhere = await member(t, '192.0.2.78');
      assert.equal((await elsewhere.post('/tf-setup', { setup: 'sms', phone: freshNumber() })).statusCode, 200);
      assert.equal(numbersReached(), 4);
      // The refused user was not charged a per-user send: e-mail setup works at once.
      const refusedUser = await member(t, '192.0.2.77');
      assert.equal((await refusedUser.post('/tf-setup', { setup: 'sms', phone: freshNumber() })).statusCode, 429);
      assert.equal((await refusedUser.post('/tf-setup', { setup: 'email' })).statusCode, 200);
    } finally {
      await t.close();
    }
  });
});
