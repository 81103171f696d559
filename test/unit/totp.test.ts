import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oathtool } from '../helpers/real-clients.js';
import {
  formatAuthrKey,
  generateTotpSecret,
  otpauthUri,
  totpCode,
  totpTimeStep,
  checkTotp,
} from '../../src/two-factor/factors/totp.js';

// "12345678901234567890" (ASCII), the RFC 6238 Appendix B SHA-1 seed, in base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const at = (seconds: number): Date => new Date(seconds * 1000);

test('RFC 6238 Appendix B SHA-1 vectors (last six of the eight digits)', async () => {
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [seconds, eight] of vectors) {
    assert.equal(await totpCode(RFC_SECRET, at(seconds)), eight.slice(2), `T=${seconds}`);
  }
});

test('codes agree with oathtool (an independent implementation) for fixed and random secrets', async () => {
  const secrets = [RFC_SECRET, generateTotpSecret(), generateTotpSecret()];
  const times = [
    at(0),
    at(59),
    new Date('2026-01-01T00:00:00Z'),
    new Date('2026-01-01T00:00:29Z'),
    new Date('2026-01-01T00:00:30Z'),
    new Date('2031-07-15T12:34:56Z'),
    new Date(),
  ];
  for (const secret of secrets) {
    for (const when of times)
      assert.equal(await totpCode(secret, when), oathtool(secret, when), `${secret} ${when.toISOString()}`);
  }
});

test('checkTotp accepts a code made by oathtool and reports its time step', async () => {
  const now = new Date('2026-01-01T00:00:10Z');
  const code = oathtool(RFC_SECRET, now);
  const result = checkTotp({ secret: RFC_SECRET, code, now });
  assert.deepEqual(result, { ok: true, timeStep: Math.floor(now.getTime() / 30_000) });
  assert.deepEqual(result, { ok: true, timeStep: totpTimeStep(now) });
});

test('generateTotpSecret: 160 bits of unpadded upper-case base32, different each time', () => {
  const secret = generateTotpSecret();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.notEqual(secret, generateTotpSecret());
});

test('window: codes from ±120 s are accepted, ±150 s refused (default SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY)', async () => {
  // One time on a step boundary and one in the middle of a step.
  for (const now of [new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:17Z')]) {
    const codeAt = (offset: number) => totpCode(RFC_SECRET, new Date(now.getTime() + offset * 1000));
    for (const offset of [-120, -90, -30, 0, 30, 90, 120]) {
      const r = checkTotp({ secret: RFC_SECRET, code: await codeAt(offset), now });
      assert.deepEqual(
        r,
        { ok: true, timeStep: totpTimeStep(new Date(now.getTime() + offset * 1000)) },
        `offset ${offset}`,
      );
    }
    for (const offset of [-150, 150, -600]) {
      const r = checkTotp({ secret: RFC_SECRET, code: await codeAt(offset), now });
      assert.deepEqual(r, { ok: false, replay: false }, `offset ${offset}`);
    }
  }
});

test('window is configurable; 0 means the current step only', async () => {
  const now = new Date('2026-01-01T00:00:40Z');
  const previous = await totpCode(RFC_SECRET, new Date('2026-01-01T00:00:20Z'));
  assert.equal(checkTotp({ secret: RFC_SECRET, code: previous, now, windowSeconds: 0 }).ok, false);
  assert.equal(checkTotp({ secret: RFC_SECRET, code: previous, now, windowSeconds: 30 }).ok, true);
  assert.throws(() => checkTotp({ secret: RFC_SECRET, code: previous, now, windowSeconds: 1471 }), RangeError);
  assert.throws(() => checkTotp({ secret: RFC_SECRET, code: previous, now, windowSeconds: -1 }), RangeError);
  assert.throws(() => checkTotp({ secret: RFC_SECRET, code: previous, now, windowSeconds: 1.5 }), RangeError);
});

test('replay: a step at or before afterTimeStep is refused, a later one accepted', async () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const code = await totpCode(RFC_SECRET, now);
  const first = checkTotp({ secret: RFC_SECRET, code, now, afterTimeStep: null });
  assert.equal(first.ok, true);
  const step = first.ok ? first.timeStep : -1;
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code, now, afterTimeStep: step }), { ok: false, replay: true });
  // Still refused later, while the old code is inside the window.
  assert.deepEqual(
    checkTotp({ secret: RFC_SECRET, code, now: new Date(now.getTime() + 60_000), afterTimeStep: step }),
    { ok: false, replay: true },
  );
  // A code from before the last accepted step is refused too.
  const earlier = await totpCode(RFC_SECRET, new Date(now.getTime() - 30_000));
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: earlier, now, afterTimeStep: step }), {
    ok: false,
    replay: true,
  });
  const next = await totpCode(RFC_SECRET, new Date(now.getTime() + 30_000));
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: next, now, afterTimeStep: step }), {
    ok: true,
    timeStep: step + 1,
  });
});

test('replay: afterTimeStep beyond the whole window refuses without throwing', async () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const code = await totpCode(RFC_SECRET, now);
  const step = totpTimeStep(now);
  for (const after of [step + 4, step + 5, step + 1000]) {
    assert.deepEqual(
      checkTotp({ secret: RFC_SECRET, code, now, afterTimeStep: after }),
      { ok: false, replay: true },
      String(after),
    );
  }
  assert.throws(() => checkTotp({ secret: RFC_SECRET, code, now, afterTimeStep: -1 }), RangeError);
  assert.throws(() => checkTotp({ secret: RFC_SECRET, code, now, afterTimeStep: 1.5 }), RangeError);
});

test('garbage input is refused without throwing', async () => {
  const now = at(59); // the code here is 287082, so none of these is right by accident
  const garbage = ['abc', '1234567', '', ' 123456', '12345', '123-456', '28708２', '2870821', 'x'.repeat(10_000)];
  for (const code of garbage)
    assert.deepEqual(checkTotp({ secret: RFC_SECRET, code, now }), { ok: false, replay: false }, code);
  for (const code of [287082, null, undefined, {}] as unknown[]) {
    assert.deepEqual(
      checkTotp({ secret: RFC_SECRET, code: code as string, now }),
      { ok: false, replay: false },
      String(code),
    );
  }
});

test('whitespace in a code is ignored, as authenticator apps display "287 082"', async () => {
  const now = at(59);
  for (const code of ['287 082', ' 287082', '287082 ', '\t287 082\n']) {
    assert.equal(checkTotp({ secret: RFC_SECRET, code, now }).ok, true, JSON.stringify(code));
  }
});

test('formatAuthrKey groups base32 by four', () => {
  assert.equal(formatAuthrKey(RFC_SECRET), 'GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ');
  assert.equal(formatAuthrKey('ABCDEFGHIJ'), 'ABCD-EFGH-IJ');
  assert.equal(formatAuthrKey('ABCDEFG='), 'ABCD-EFG');
});

test('otpauthUri: label and query are percent-encoded, and it parses back to the inputs', () => {
  const uri = otpauthUri({ issuer: 'Acme & Co', username: 'jo+2fa@example.com', secret: RFC_SECRET });
  assert.equal(
    uri,
    `otpauth://totp/Acme%20%26%20Co:jo%2B2fa%40example.com?secret=${RFC_SECRET}&issuer=Acme%20%26%20Co`,
  );
  const parsed = new URL(uri);
  assert.equal(parsed.protocol, 'otpauth:');
  assert.equal(parsed.searchParams.get('issuer'), 'Acme & Co');
  assert.equal(parsed.searchParams.get('secret'), RFC_SECRET);
  assert.equal(parsed.host, 'totp');
  const label = decodeURIComponent(parsed.pathname.slice(1));
  assert.equal(label, 'Acme & Co:jo+2fa@example.com');
});

test('otpauthUri: encodes non-ASCII and reserved characters in the username', () => {
  const uri = otpauthUri({ issuer: 'tfa', username: 'zoë?x=1&y#z@ex.com', secret: 'JBSWY3DPEHPK3PXP' });
  assert.equal(uri, 'otpauth://totp/tfa:zo%C3%AB%3Fx%3D1%26y%23z%40ex.com?secret=JBSWY3DPEHPK3PXP&issuer=tfa');
});

test('otpauthUri refuses an issuer with a colon and a malformed secret', () => {
  assert.throws(() => otpauthUri({ issuer: 'a:b', username: 'u', secret: RFC_SECRET }), TypeError);
  assert.throws(() => otpauthUri({ issuer: '', username: 'u', secret: RFC_SECRET }), TypeError);
  assert.throws(() => otpauthUri({ issuer: 'a', username: 'u', secret: 'gezd&x=1' }), TypeError);
});

test('RFC 4226 Appendix D HOTP values: step n checked at n × 30 s with no window', () => {
  const hotp = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  hotp.forEach((code, step) => {
    assert.deepEqual(checkTotp({ secret: RFC_SECRET, code, now: at(step * 30), windowSeconds: 0 }), {
      ok: true,
      timeStep: step,
    });
  });
});

test('checkTotp tells a replay from a wrong code in one pass', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const step = totpTimeStep(now);
  const code = (offset: number) => oathtool(RFC_SECRET, new Date(now.getTime() + offset * 30_000));
  // The step accepted last, and one before it: right codes, but used up.
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: code(0), now, afterTimeStep: step }), {
    ok: false,
    replay: true,
  });
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: code(-2), now, afterTimeStep: step }), {
    ok: false,
    replay: true,
  });
  // Outside the window a code is wrong, whatever afterTimeStep says.
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: code(-6), now, afterTimeStep: step }), {
    ok: false,
    replay: false,
  });
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: code(1), now, afterTimeStep: step }), {
    ok: true,
    timeStep: step + 1,
  });
  assert.deepEqual(checkTotp({ secret: RFC_SECRET, code: 'abcdef', now, afterTimeStep: step }), {
    ok: false,
    replay: false,
  });
});

test('checkTotp reads base32 in either case and with padding, and refuses a secret that is not base32', () => {
  const now = new Date('2026-01-01T00:00:10Z');
  const code = oathtool('JBSWY3DPEHPK3PXP', now);
  for (const secret of ['JBSWY3DPEHPK3PXP', 'jbswy3dpehpk3pxp', 'JBSWY3DPEHPK3PXP===='])
    assert.equal(checkTotp({ secret, code, now }).ok, true, secret);
  assert.throws(() => checkTotp({ secret: 'JBSWY3DP1HPK3PXP', code, now }), TypeError);
});
