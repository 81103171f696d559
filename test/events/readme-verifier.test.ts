/**
 * The README's receiver code (README, "Webhooks"), run as written against a
 * real delivery: a receiver copying it must accept our requests and refuse
 * altered, replayed or foreign ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { FixedClock } from '../../src/clock.js';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase } from '../helpers/db.js';
import { drain, stopLoops, testLoop, writeEvents } from '../helpers/events.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../helpers/webhook-receiver.js';

type Verify = (secret: string, headers: Record<string, unknown>, body: string, now?: number) => boolean;

/** The first ```js block of the README's "Webhooks" section, as a module of its own. */
async function readmeVerifier(): Promise<{ verifyWebhook: Verify; cleanup: () => void }> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Webhooks\n'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code?.includes('export function verifyWebhook'), 'the README shows verifyWebhook');
  const dir = mkdtempSync(join(tmpdir(), 'readme-verifier-'));
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, code!);
  const mod = (await import(pathToFileURL(file).href)) as { verifyWebhook: Verify };
  return { verifyWebhook: mod.verifyWebhook, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let database: Database;
let receiver: WebhookReceiver;
before(async () => {
  database = await createTestDatabase();
  receiver = await WebhookReceiver.start();
});
after(async () => {
  await stopLoops();
  await receiver.stop();
  await database.close();
});

test("the README's verifyWebhook accepts a real delivery and refuses altered, old or foreign ones", async () => {
  const { verifyWebhook, cleanup } = await readmeVerifier();
  try {
    const clock = new FixedClock(new Date());
    const { loop } = testLoop(database, clock, { WEBHOOK_URLS: receiver.url, SECURITY_NOTIFICATIONS: 'none' });
    await writeEvents(database, clock, [
      { type: 'signin.success', userId: null, details: { methods: ['password'] } },
      { type: 'tf.disabled', userId: null },
    ]);
    await drain(database, clock, loop);
    assert.equal(receiver.requests.length, 2);
    for (const r of receiver.requests) {
      assert.equal(verifyWebhook(TEST_WEBHOOK_SECRET, r.headers, r.rawBody), true, 'a real delivery verifies');
      assert.equal(
        verifyWebhook(TEST_WEBHOOK_SECRET, r.headers, r.rawBody.replace('"user_id":null', '"user_id":1')),
        false,
      );
      assert.equal(
        verifyWebhook(TEST_WEBHOOK_SECRET, r.headers, r.rawBody, Date.now() / 1000 + 3600),
        false,
        'an hour later: a replay',
      );
      const other = `whsec_${Buffer.from('another-key-0123456789abcdefghij').toString('base64')}`;
      assert.equal(verifyWebhook(other, r.headers, r.rawBody), false);
      assert.equal(verifyWebhook(TEST_WEBHOOK_SECRET, { ...r.headers, 'webhook-id': 'x' }, r.rawBody), false);
    }
  } finally {
    cleanup();
  }
});
