// Prints its argument as a QR code in the terminal (dark on light, half-height
// blocks), e.g. the otpauth:// URI of an authenticator setup, to scan with a
// phone: node scripts/qr.mjs "$uri"
import process from 'node:process';
import QRCode from 'qrcode';

const text = process.argv[2];
if (!text) {
  process.stderr.write('usage: node scripts/qr.mjs TEXT\n');
  process.exit(2);
}
const drawn = await QRCode.toString(text, { type: 'terminal', small: true });
// Its last line ends without a newline; the next output must start on a line of its own.
process.stdout.write(drawn.endsWith('\n') ? drawn : `${drawn}\n`);
