import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Reads a QR code drawn in a terminal (scripts/qr.mjs: half-height blocks,
 * ANSI colours) the way a phone pointed at the screen would: the glyphs become
 * pixels again (each character is two modules, its upper and lower half, dark
 * where drawn in black) and zbarimg decodes the image.
 */
export function scanTerminalQr(text: string): string {
  const rows: boolean[][] = [];
  for (const line of text.split('\n').filter((l) => l.includes('\x1b['))) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    let inkDark = false;
    // eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
    for (const m of line.matchAll(/\x1b\[(\d+)m|([ ▄▀█])/g)) {
      if (m[1]) {
        if (m[1] === '30' || m[1] === '37' || m[1] === '0') inkDark = m[1] === '30';
        continue;
      }
      top.push((m[2] === '▀' || m[2] === '█') && inkDark);
      bottom.push((m[2] === '▄' || m[2] === '█') && inkDark);
    }
    rows.push(top, bottom);
  }
  // A white margin of 4 modules (the quiet zone of ISO/IEC 18004), 4 pixels a module.
  const scale = 4;
  const pad = 4;
  const width = (Math.max(...rows.map((r) => r.length)) + 2 * pad) * scale;
  const height = (rows.length + 2 * pad) * scale;
  const pixels: string[] = [];
  for (let y = 0; y < height; y++) {
    const row = rows[Math.floor(y / scale) - pad] ?? [];
    let line = '';
    for (let x = 0; x < width; x++) line += row[Math.floor(x / scale) - pad] ? '1' : '0';
    pixels.push(line);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tfa-tqr-'));
  try {
    const pbm = join(dir, 'code.pbm');
    writeFileSync(pbm, `P1\n${width} ${height}\n${pixels.join('\n')}\n`);
    // zbarimg prints D-Bus noise on stderr in containers; only stdout matters.
    return execFileSync('zbarimg', ['--raw', '-q', pbm], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).replace(/\n$/, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
