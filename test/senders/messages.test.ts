/**
 * Message texts: SPEC §4.1 says the code is the only 6-digit number of a code
 * message; interpolated values are HTML-escaped; the help-desk notice names
 * the user and holds no code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  codeSms,
  escapeHtml,
  helpDeskNoticeEmail,
  rescueCodeEmail,
  setupCodeEmail,
  signInCodeEmail,
} from '../../src/senders/messages.js';
import type { CodeMessageInput } from '../../src/senders/messages.js';

const input: CodeMessageInput = { code: '049817', minutesValid: 5, appName: 'Acme' };
const sixDigitRuns = (text: string) => text.match(/\d{6,}/g) ?? [];

const emailBuilders = { signInCodeEmail, setupCodeEmail, rescueCodeEmail };

describe('code e-mails', () => {
  for (const [name, build] of Object.entries(emailBuilders)) {
    test(`${name}: the code is the only 6-digit number in text and HTML, never in the subject`, () => {
      const mail = build('alice@example.com', input);
      assert.equal(mail.to, 'alice@example.com');
      assert.deepEqual(sixDigitRuns(mail.text), ['049817']);
      assert.deepEqual(sixDigitRuns(mail.html), ['049817']);
      assert.deepEqual(sixDigitRuns(mail.subject), []);
      assert.match(mail.text, /5 minutes/);
      assert.match(mail.subject, /Acme/);
    });

    test(`${name}: the app name is HTML-escaped and kept on one line`, () => {
      const mail = build('alice@example.com', {
        ...input,
        appName: 'Acme <script>alert("x")</script> & Co\r\nBcc: evil',
      });
      assert.ok(!mail.html.includes('<script>'));
      assert.match(mail.html, /Acme &lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; Co Bcc: evil/);
      assert.ok(!/[\r\n]/.test(mail.subject));
    });
  }

  test('the three kinds of code e-mail are told apart by their subject', () => {
    const subjects = Object.values(emailBuilders).map((build) => build('a@example.com', input).subject);
    assert.equal(new Set(subjects).size, 3);
  });

  test('an app name that would add another 6-digit number is refused', () => {
    assert.throws(() => signInCodeEmail('a@example.com', { ...input, appName: 'Acme 202401' }), /only 6-digit number/);
    assert.throws(() => codeSms('+15005550006', { ...input, appName: 'Shop 1234567' }), /only 6-digit number/);
  });

  test('a code that is not six digits is refused', () => {
    for (const code of ['12345', '1234567', 'abcdef', ' 12345']) {
      assert.throws(() => signInCodeEmail('a@example.com', { ...input, code }), /six digits/);
    }
  });

  test('a validity that is not a positive number is refused; fractions round down', () => {
    assert.throws(() => signInCodeEmail('a@example.com', { ...input, minutesValid: 0 }), /positive/);
    assert.throws(() => signInCodeEmail('a@example.com', { ...input, minutesValid: Number.NaN }), /positive/);
    assert.match(codeSms('+15005550006', { ...input, minutesValid: 2.9 }).text, /2 minutes/);
    assert.match(codeSms('+15005550006', { ...input, minutesValid: 1 }).text, /1 minute\./);
    assert.match(codeSms('+15005550006', { ...input, minutesValid: 0.5 }).text, /1 minute\./);
  });
});

describe('code SMS', () => {
  test('starts with the code, which is its only 6-digit number, and fits one SMS segment', () => {
    const sms = codeSms('+15005550006', { ...input, minutesValid: 2 });
    assert.equal(sms.to, '+15005550006');
    assert.equal(sms.text, '049817 is your Acme code. It expires in 2 minutes.');
    assert.deepEqual(sixDigitRuns(sms.text), ['049817']);
    assert.ok(sms.text.length <= 160);
  });
});

describe('help-desk notice', () => {
  test('goes to the rescue address, names the user and holds no code', () => {
    const mail = helpDeskNoticeEmail('helpdesk@acme.test', { userEmail: 'alice@example.com', appName: 'Acme' });
    assert.equal(mail.to, 'helpdesk@acme.test');
    assert.match(mail.subject, /alice@example\.com/);
    assert.match(mail.text, /alice@example\.com/);
    assert.match(mail.html, /alice@example\.com/);
    assert.deepEqual(sixDigitRuns(mail.text + mail.html + mail.subject), []);
  });

  test('escapes the user e-mail in HTML', () => {
    const mail = helpDeskNoticeEmail('helpdesk@acme.test', { userEmail: '"<b>"@example.com', appName: 'Acme' });
    assert.ok(!mail.html.includes('<b>'));
    assert.match(mail.html, /&quot;&lt;b&gt;&quot;@example\.com/);
  });
});

test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
});
