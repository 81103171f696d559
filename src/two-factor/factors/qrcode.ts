/**
 * tf_authr_qrcode: the otpauth URI as an SVG QR code in a data: URI, so the client
 * needs no extra request and no image library. SVG because it stays sharp at any
 * size; base64 because raw SVG in a data: URI needs careful escaping.
 */
const QR_OPTIONS = {
  type: 'svg',
  // M (~15 % recovery) is what authenticator setup screens use; H makes the symbol denser for no gain on a screen.
  errorCorrectionLevel: 'M',
  // ISO/IEC 18004 asks for a 4-module quiet zone; scanners miss codes that sit flush with dark page content.
  margin: 4,
  // An intrinsic size, so an <img> without CSS does not render it at the 300×150 default.
  width: 264,
} as const;

export async function qrSvgDataUri(uri: string): Promise<string> {
  // Loaded at the first authenticator setup, not at start (docs/architecture.md, Memory).
  const { default: QRCode } = await import('qrcode');
  const svg = await QRCode.toString(uri, QR_OPTIONS);
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}
