/**
 * Misspelled settings are otherwise ignored in silence (SECURITY_TWO_FACTOR_SETUP_WITHN
 * leaves the default in force). A variable that looks like ours (one of our
 * prefixes, or a near miss of one of our names) but is not one gets a start-up
 * warning naming the nearest real setting. A warning, not an error: other
 * software in the same environment may own a name that merely looks like ours.
 */
const PREFIXES = [
  'SECURITY_',
  'SENDGRID_',
  'TWILIO_',
  'RATE_LIMIT_',
  'SESSION_COOKIE_',
  'METRICS_',
  'TRUST_PROXY',
  'CORS_',
  'OUTBOX_',
  'SHUTDOWN_',
  'EMAIL_SERVICE',
  'WEBHOOK_',
];
// Short names (PORT, HOST) are a letter or two away from common unrelated ones (PATH, HOME).
const NEAR_MISS_MIN_LENGTH = 8;
const NEAR_MISS_DISTANCE = 2;

/** Levenshtein distance (insert, delete, substitute, one each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}

function nearest(name: string, known: readonly string[]): { name: string; distance: number } {
  let best = { name: known[0] ?? '', distance: Infinity };
  for (const k of known) {
    const distance = editDistance(name, k);
    if (distance < best.distance) best = { name: k, distance };
  }
  return best;
}

/** One warning per environment variable that looks like a setting of ours but is none. */
export function unknownSettingWarnings(env: Record<string, string | undefined>, known: readonly string[]): string[] {
  const names = new Set(known);
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (names.has(name) || env[name] === undefined) continue;
    const close = nearest(name, known);
    const ours = PREFIXES.some((p) => name.startsWith(p));
    const nearMiss = name.length >= NEAR_MISS_MIN_LENGTH && close.distance <= NEAR_MISS_DISTANCE;
    if (!ours && !nearMiss) continue;
    warnings.push(`${name} is not a setting of this service and is ignored; did you mean ${close.name}?`);
  }
  return warnings;
}
