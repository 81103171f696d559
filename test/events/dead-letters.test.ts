/**
 * Dead letters (README, "Webhooks"): deliveries given up after
 * WEBHOOK_GIVE_UP_AFTER, listed and put back in the queue through the operator
 * API (and the CLI's events:dead / events:retry, the same services).
 *
 * Threats and failures: an outage of a receiver longer than the give-up time
 * losing its events for good, with no way back but SQL by hand; a retry that
 * sends an event twice to a receiver that had it, or under a new id the
 * receiver cannot dedupe; a retry nobody can trace to an operator; a listing
 * that shows a token in a webhook URL's query.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { commands } from '../../src/cli/commands.js';
import { createTestApp, createUser, uniqueEmail, type TestApp } from '../helpers/app.js';
import { DB_KIND } from '../helpers/db.js';
import { drain, fannedOut, stopLoops, testLoop, writeEvents } from '../helpers/events.js';
import { createOperatorApp, type OperatorApp } from '../helpers/operator.js';
import { OPERATOR_ENV } from '../helpers/operator.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

describe(`dead letters through the operator API (${DB_KIND})`, () => {
  let t: TestApp;
  let op: OperatorApp;
  let receiver: WebhookReceiver;
  /** The receiver's URL with a token in its query, which a listing must not show. */
  let secretUrl: string;

  before(async () => {
    t = await createTestApp(OPERATOR_ENV);
    op = await createOperatorApp(t);
    receiver = await WebhookReceiver.start();
    const url = new URL(receiver.url);
    url.searchParams.set('token', 'query-secret');
    secretUrl = url.toString();
  });
  afterEach(async () => {
    op.contract.assertNoViolations();
    await stopLoops();
  });
  after(async () => {
    await receiver.stop();
    await op.close();
    await t.close();
  });

  /** The newest operator.deliveries_retried row. */
  function lastRetryAudit() {
    return t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('type', '=', 'operator.deliveries_retried')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
  }

  /** One event for a new user, given up after a receiver outage of more than WEBHOOK_GIVE_UP_AFTER. */
  async function deadLetter() {
    await stopLoops(); // an earlier loop would keep the leader lock (Postgres) and this one would idle
    const user = await createUser(t.database, uniqueEmail('dead'), 'password-123');
    const env = { WEBHOOK_URLS: secretUrl, WEBHOOK_GIVE_UP_AFTER: '1 hour' };
    const { loop } = testLoop(t.database, t.clock, env);
    await drain(t.database, t.clock, loop); // earlier events out of the way
    receiver.reset();
    await writeEvents(t.database, t.clock, [{ type: 'tf.disabled', userId: user.id }]);
    receiver.failNext(10_000, 503);
    await fannedOut(t.database, loop);
    const started = t.clock.now().getTime();
    while (t.clock.now().getTime() - started < 3600_000 + 120_000) {
      await loop.tick();
      t.clock.advance(60_000);
    }
    const event = await t.database.db
      .selectFrom('event_outbox')
      .select('event_id')
      .where('user_id', '=', user.id)
      .where('type', '=', 'tf.disabled')
      .executeTakeFirstOrThrow();
    return { user, eventId: String(event.event_id), loop };
  }

  test('a given-up webhook is listed without the URL’s secrets, retried once by an operator, and arrives once under its id', async () => {
    const { user, eventId, loop } = await deadLetter();
    assert.equal(receiver.accepted().length, 0, 'nothing got through the outage');

    const listed = await op.call('GET', '/admin/deliveries/dead?kind=webhook');
    assert.equal(listed.statusCode, 200, listed.body);
    const mine = listed.data.response.deliveries.filter((d: { event_id: string }) => d.event_id === eventId);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].type, 'tf.disabled');
    assert.equal(mine[0].user_id, user.id);
    assert.equal(mine[0].last_status, 503);
    assert.ok(mine[0].attempts >= 3, `attempts: ${mine[0].attempts}`);
    assert.equal(mine[0].receiver, new URL(receiver.url).origin + new URL(receiver.url).pathname);
    assert.doesNotMatch(listed.body, /query-secret/, 'not the query of the URL');
    assert.equal((await op.call('GET', '/admin/deliveries/dead?kind=email')).data.response.deliveries.length, 0);

    // The receiver is fixed; an operator puts the dead letters back.
    receiver.reset();
    const retried = await op.call('POST', '/admin/deliveries/retry', { kind: 'webhook' });
    assert.equal(retried.statusCode, 200, retried.body);
    assert.ok(retried.data.response.retried >= 1);
    const audit = await lastRetryAudit();
    assert.deepEqual(audit.details, { operator: 'alice', retried: retried.data.response.retried, kind: 'webhook' });

    await drain(t.database, t.clock, loop);
    const got = receiver.accepted().filter((e) => e.id === eventId);
    assert.equal(got.length, 1, 'delivered once, under the event’s own webhook-id');
    assert.equal(got[0]!.type, 'tf.disabled');
    const still = await op.call('GET', '/admin/deliveries/dead?kind=webhook');
    assert.equal(
      still.data.response.deliveries.filter((d: { event_id: string }) => d.event_id === eventId).length,
      0,
      'no longer a dead letter',
    );
    const again = await op.call('POST', '/admin/deliveries/retry', {});
    assert.equal(again.data.response.retried, 0, 'a second retry finds nothing');
  });

  test('`since` retries only letters given up from then on; bad filters are 400 on their field', async () => {
    const first = await deadLetter();
    const between = t.clock.now().toISOString();
    const second = await deadLetter();
    const page = await op.call('GET', `/admin/deliveries/dead?since=${encodeURIComponent(between)}`);
    const ids = page.data.response.deliveries.map((d: { event_id: string }) => d.event_id);
    assert.ok(ids.includes(second.eventId) && !ids.includes(first.eventId), ids.join());

    const retried = await op.call('POST', '/admin/deliveries/retry', { since: between });
    assert.equal(retried.data.response.retried, 1);
    const state = async (eventId: string) =>
      (
        await t.database.db
          .selectFrom('event_deliveries as d')
          .innerJoin('event_outbox as o', 'o.id', 'd.outbox_id')
          .select('d.state')
          .where('o.event_id', '=', eventId)
          .where('d.target', 'like', 'webhook:%')
          .executeTakeFirstOrThrow()
      ).state;
    assert.equal(await state(second.eventId), 'pending');
    assert.equal(await state(first.eventId), 'dead');

    for (const [res, field] of [
      [await op.call('GET', '/admin/deliveries/dead?kind=sms'), 'kind'],
      [await op.call('POST', '/admin/deliveries/retry', { since: 'yesterday' }), 'since'],
      [await op.call('POST', '/admin/deliveries/retry', { kind: 'all' }), 'kind'],
      [await op.call('GET', '/admin/deliveries/dead?cursor=abc'), 'cursor'],
    ] as const) {
      assert.equal(res.statusCode, 400, res.body);
      assert.ok(res.data.response.field_errors[field], `${field}: ${res.body}`);
    }
    assert.equal((await op.call('POST', '/admin/deliveries/retry', { extra: 1 })).statusCode, 400);
    assert.equal((await op.call('POST', '/admin/deliveries/retry', {}, null)).statusCode, 401);
    assert.equal((await op.call('GET', '/admin/deliveries/dead', undefined, 'tfa_op_wrong')).statusCode, 401);
  });

  test('the command line lists and retries them too (events:dead, events:retry), audited as cli', async () => {
    const { eventId } = await deadLetter();
    const run = (name: string, args: Record<string, string>) =>
      commands[name]!.run({ config: t.config, db: t.database.db, args, readStdin: async () => '' });
    const listed = await run('events:dead', { kind: 'webhook' });
    assert.match(listed, new RegExp(`tf\\.disabled\\tevent=${eventId}\\t`));
    assert.doesNotMatch(listed, /query-secret/);
    assert.match(await run('events:retry', { kind: 'webhook' }), /^[1-9]\d* dead letters? queued again$/);
    assert.equal(await run('events:dead', { kind: 'webhook' }), 'no dead letters');
    await assert.rejects(run('events:retry', { kind: 'sms' }), /not appropriate|kind/i);
    const audit = await lastRetryAudit();
    assert.equal((audit.details as { operator: string }).operator, 'cli');
  });
});
