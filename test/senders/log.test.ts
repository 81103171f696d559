/**
 * The development `log` channel: one marked log line per message and, with an
 * outbox file, one JSON line per message in exactly the SPEC §7 format, also
 * when many messages are sent at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FixedClock } from '../../src/clock.js';
import { LogEmailSender, LogSmsSender, OUTBOX_LOG_MESSAGE } from '../../src/senders/log.js';
import { DeliveryError } from '../../src/senders/types.js';
import { captureLogger } from '../helpers/log-capture.js';

const AT = new Date('2030-01-02T03:04:05.678Z');

describe('log senders', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('an e-mail becomes one outbox log line and one JSON line in the SPEC format', async () => {
    const log = captureLogger();
    const outboxFile = join(dir, 'email.jsonl');
    const sender = new LogEmailSender({ logger: log.logger, clock: new FixedClock(AT), outboxFile });
    await sender.send({ to: 'alice@example.com', subject: 'Your code', text: 'Code: 123456', html: '<p>123456</p>' });

    const lines = log.lines();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.msg, OUTBOX_LOG_MESSAGE);
    assert.equal(lines[0]?.level, 30);
    assert.deepEqual(lines[0]?.outbox, {
      channel: 'email',
      to: 'alice@example.com',
      subject: 'Your code',
      text: 'Code: 123456',
    });

    const file = await readFile(outboxFile, 'utf8');
    assert.equal(
      file,
      '{"channel":"email","to":"alice@example.com","subject":"Your code","text":"Code: 123456","html":"<p>123456</p>","at":"2030-01-02T03:04:05.678Z"}\n',
    );
    // The outbox holds live codes: readable by the service's user only.
    assert.equal((await stat(outboxFile)).mode & 0o777, 0o600);
  });

  test('an SMS becomes one outbox log line and one JSON line in the SPEC format', async () => {
    const log = captureLogger();
    const outboxFile = join(dir, 'sms.jsonl');
    const sender = new LogSmsSender({ logger: log.logger, clock: new FixedClock(AT), outboxFile });
    await sender.send({ to: '+15005550006', text: '654321 is your code.' });

    assert.deepEqual(log.lines()[0]?.outbox, { channel: 'sms', to: '+15005550006', text: '654321 is your code.' });
    assert.equal(
      await readFile(outboxFile, 'utf8'),
      '{"channel":"sms","to":"+15005550006","text":"654321 is your code.","at":"2030-01-02T03:04:05.678Z"}\n',
    );
  });

  test('without an outbox file only the log line is written', async () => {
    const log = captureLogger();
    await new LogSmsSender({ logger: log.logger, clock: new FixedClock(AT) }).send({ to: '+15005550006', text: 'x' });
    assert.equal(log.lines().length, 1);
  });

  test('concurrent sends from e-mail and SMS senders sharing one file never mix lines', async () => {
    const log = captureLogger();
    const outboxFile = join(dir, 'shared.jsonl');
    const clock = new FixedClock(AT);
    const email = new LogEmailSender({ logger: log.logger, clock, outboxFile });
    const sms = new LogSmsSender({ logger: log.logger, clock, outboxFile });
    const bulky = 'x'.repeat(4_000); // several KiB per line, to make interleaving likely if writes were split
    const sends = Array.from({ length: 100 }, (_, i) =>
      i % 2 === 0
        ? email.send({ to: `u${i}@example.com`, subject: `s${i}`, text: `${i} ${bulky}`, html: `<p>${i}</p>` })
        : sms.send({ to: `+1500555${String(i).padStart(4, '0')}`, text: `${i} ${bulky}` }),
    );
    await Promise.all(sends);

    const lines = (await readFile(outboxFile, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'file ends with a newline');
    assert.equal(lines.length, 100);
    const seen = lines.map((line) => {
      const entry = JSON.parse(line) as { channel: string; text: string };
      return Number(entry.text.split(' ')[0]);
    });
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  test('an outbox file that cannot be written gives DeliveryError', async () => {
    const log = captureLogger();
    const outboxFile = join(dir, 'missing-folder', 'outbox.jsonl');
    const sender = new LogEmailSender({ logger: log.logger, clock: new FixedClock(AT), outboxFile });
    await assert.rejects(sender.send({ to: 'a@example.com', subject: 's', text: 't', html: 'h' }), DeliveryError);
    const failure = log.lines().find((l) => l.msg === 'outbox file append failed');
    assert.equal(failure?.reason, 'ENOENT');
  });
});
