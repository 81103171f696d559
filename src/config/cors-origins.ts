import { ConfigProblem, type Field } from './parse.js';

/**
 * CORS_ORIGINS: each entry must be exactly an origin as a browser sends it in
 * the Origin header (scheme://host[:port], lower case, no default port, no
 * path, no trailing slash), because @fastify/cors compares strings: anything
 * else is accepted silently and never matches. Decision (README): refuse at
 * start, naming the origin that was probably meant, rather than normalise,
 * so what the operator wrote is what is compared.
 */
export const corsOrigins: Field<readonly string[]> = {
  parse(raw, name) {
    const entries = (raw ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    const problems: string[] = [];
    for (const entry of entries) {
      let origin: string | null = null;
      try {
        const url = new URL(entry);
        if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
      } catch {
        // not a URL at all: reported below
      }
      if (origin === entry) continue;
      problems.push(origin ? `"${entry}" (write "${origin}")` : `"${entry}" (not an http(s) origin)`);
    }
    if (problems.length)
      throw new ConfigProblem(
        `${name} takes origins only, scheme://host[:port] without path or trailing slash: ${problems.join(', ')}`,
      );
    return entries;
  },
};
