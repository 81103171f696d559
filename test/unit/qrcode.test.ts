// Decodes the SVG the way a phone would see it: rasterized by librsvg (rsvg-convert,
// Debian librsvg2-bin) and read by zbarimg (zbar-tools). qrcode's own PNG output
// would not test the SVG we actually send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanQrSvg, svgOfDataUri } from '../helpers/real-clients.js';
import { qrSvgDataUri } from '../../src/two-factor/factors/qrcode.js';
import { generateTotpSecret, otpauthUri } from '../../src/two-factor/factors/totp.js';

const svgOf = svgOfDataUri;
const scan = scanQrSvg;

test('the data URI holds an SVG with an intrinsic size', async () => {
  const svg = svgOf(await qrSvgDataUri('otpauth://totp/tfa:a%40b.c?secret=JBSWY3DPEHPK3PXP&issuer=tfa'));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="264" height="264" viewBox="0 0 \d+ \d+"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test('zbarimg decodes exactly the otpauth URI from the rasterized SVG', async () => {
  const uris = [
    otpauthUri({ issuer: 'tfa-service', username: 'alice@example.com', secret: generateTotpSecret() }),
    otpauthUri({ issuer: 'Acme & Co', username: 'zoë+2fa@example.com', secret: generateTotpSecret() }),
    otpauthUri({
      issuer: 'A rather long issuer name, Inc.',
      username: `${'x'.repeat(200)}@example.com`,
      secret: generateTotpSecret(),
    }),
  ];
  for (const uri of uris) assert.equal(scan(svgOf(await qrSvgDataUri(uri))), uri);
});
