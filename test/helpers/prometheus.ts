/**
 * Reads one sample from Prometheus text exposition, e.g.
 * sample(text, 'tfa_signins_total', { outcome: 'failure' }). Missing: undefined.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(have).length && wanted.every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
