import { ConfigProblem, type Field } from './parse.js';

/**
 * WEBHOOK_URLS: comma-separated http(s) URLs, each receiving every event
 * (README, "Webhooks"). A URL may not hold a comma; one that does not parse,
 * or is not http(s), stops the start with its position (not its text: a
 * receiver's URL may carry a token).
 */
export const webhookUrls: Field<readonly string[]> = {
  parse(raw, name) {
    const entries = (raw ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    const bad = entries
      .map((entry, i) => {
        try {
          const url = new URL(entry);
          return url.protocol === 'http:' || url.protocol === 'https:' ? null : i + 1;
        } catch {
          return i + 1;
        }
      })
      .filter((i): i is number => i !== null);
    if (bad.length) throw new ConfigProblem(`${name} entries ${bad.join(', ')} are not http(s) URLs`);
    if (new Set(entries).size !== entries.length) throw new ConfigProblem(`${name} names a URL twice`);
    return entries;
  },
};
