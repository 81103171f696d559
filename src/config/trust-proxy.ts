import { isIP } from 'node:net';
import { ConfigProblem, type Field } from './parse.js';

/**
 * TRUST_PROXY, in the form Fastify's `trustProxy` takes: `false` (the socket's
 * address is the client), a hop count, or the proxies' addresses and CIDRs.
 *
 * Decision (README, "Behind a proxy"): `true` means ONE hop, the address the
 * proxy in front of us saw, not Fastify's `true`, which trusts every hop and so
 * takes the leftmost X-Forwarded-For entry: a value each client writes itself,
 * which would give every request the address of its choice and void the per-IP
 * limits and the password throttle. Trusting every hop stays possible, spelled
 * out (`0.0.0.0/1,128.0.0.0/1`), and then draws a start-up warning.
 */
export type TrustProxy = false | number | readonly string[];

const NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const HELP =
  'must be false, true (one proxy), a hop count, or comma-separated proxy addresses/CIDRs (or loopback, linklocal, uniquelocal)';

function isAddressOrRange(entry: string): boolean {
  if (NAMES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (family === 4 && isIP(prefix) === 4) return true; // 10.0.0.0/255.0.0.0
  // proxy-addr (Fastify's parser) refuses /0 with a TypeError at start; so do we, in one line.
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Wider than any proxy fleet: IPv4 shorter than /8, IPv6 shorter than /7 (fc00::/7,
 * `uniquelocal`, is the widest private range). Trusting all of it is trusting every hop.
 */
function isWide(entry: string): boolean {
  const [address = '', prefix] = entry.split('/');
  if (prefix === undefined || !/^\d+$/.test(prefix)) return false;
  return Number(prefix) < (isIP(address) === 4 ? 8 : 7);
}

export const trustProxy: Field<TrustProxy> = {
  parse(raw, name) {
    const text = (raw ?? '').trim().toLowerCase();
    if (text === '' || text === 'false') return false;
    if (text === 'true') return 1;
    if (/^\d+$/.test(text)) {
      const hops = Number(text);
      if (hops === 0) return false;
      if (hops > 32) throw new ConfigProblem(`${name} ${HELP}; a hop count is at most 32 (got ${hops})`);
      return hops;
    }
    const entries = text
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    const bad = entries.filter((e) => !isAddressOrRange(e));
    if (bad.length) throw new ConfigProblem(`${name} ${HELP} (not valid: ${bad.map((b) => `"${b}"`).join(', ')})`);
    return entries;
  },
  unusual(value, name) {
    if (typeof value !== 'object') return null;
    const wide = value.filter(isWide);
    return wide.length
      ? `${name} trusts proxies anywhere in ${wide.join(', ')}: a client in such a range chooses its own address ` +
          'with X-Forwarded-For, which voids the per-IP rate limits and the password throttle. ' +
          'Set the hop count of your proxies (true = 1) or their own addresses.'
      : null;
  },
};

/**
 * The value for Fastify's `trustProxy` option: a hop count becomes the function
 * Fastify itself builds from one (hop i of the chain is trusted while i < n),
 * since its typings take no number; arrays are copied (the option wants a mutable one).
 */
export function fastifyTrustProxy(value: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return typeof value === 'object' ? [...value] : value;
}
