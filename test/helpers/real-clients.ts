import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Independent implementations a user's devices would use: oathtool computes
 * TOTP codes like an authenticator app, zbarimg reads a QR code like a phone
 * camera (after librsvg rasterizes the SVG, as a browser would).
 */
export function oathtool(base32: string, when: Date): string {
  const now = when
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', '--now', now, base32.replace(/-/g, '')], {
    encoding: 'utf8',
  }).trim();
}

const SVG_PREFIX = 'data:image/svg+xml;base64,';

export function svgOfDataUri(dataUri: string): string {
  if (!dataUri.startsWith(SVG_PREFIX)) throw new Error(`not an SVG data URI: ${dataUri.slice(0, 40)}`);
  return Buffer.from(dataUri.slice(SVG_PREFIX.length), 'base64').toString('utf8');
}

export function scanQrSvg(svg: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'qr-test-'));
  try {
    const png = join(dir, 'code.png');
    execFileSync('rsvg-convert', ['--width', '400', '--output', png], { input: svg });
    // zbarimg prints D-Bus noise on stderr in containers; only stdout matters.
    return execFileSync('zbarimg', ['--raw', '-q', png], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).replace(/\n$/, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
