import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigProblem, type Field } from '../config/parse.js';

/**
 * Operator tokens (README, "Operator API"). The configuration holds
 * `name:sha256hex` entries, never a token: a leaked environment or config
 * file does not let anyone in. A plain SHA-256 is enough because the tokens
 * are 256 random bits (`npm run cli -- admin:token <name>` mints them), so
 * there is nothing to guess offline; a slow password hash would only slow
 * every operator call down.
 */
export interface OperatorToken {
  /** Who holds the token; written into every audit row as `details.operator`. */
  readonly name: string;
  /** SHA-256 of the token, 32 bytes. */
  readonly digest: Buffer;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HEX_DIGEST = /^[0-9a-f]{64}$/;
/** `tfa_op_` + 43 base64url characters (32 bytes): recognisable in a secret scanner, never a user token. */
const TOKEN_PREFIX = 'tfa_op_';

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** `ADMIN_TOKENS`: entries `name:sha256hex`, separated by commas, spaces or lines (a mounted file has one per line). */
export const operatorTokens: Field<readonly OperatorToken[]> = {
  parse(raw, name) {
    if (raw === undefined || raw.trim() === '') return [];
    const tokens: OperatorToken[] = [];
    for (const entry of raw.split(/[\s,]+/).filter((e) => e !== '')) {
      const sep = entry.lastIndexOf(':');
      const who = entry.slice(0, sep);
      const hex = entry.slice(sep + 1).toLowerCase();
      if (sep < 1 || !NAME.test(who) || !HEX_DIGEST.test(hex))
        throw new ConfigProblem(
          `${name} entries must be name:sha256hex (as printed by \`npm run cli -- admin:token <name>\`); got "${entry.slice(0, 20)}…"`,
        );
      if (tokens.some((t) => t.name === who)) throw new ConfigProblem(`${name} names "${who}" twice`);
      tokens.push(Object.freeze({ name: who, digest: Buffer.from(hex, 'hex') }));
    }
    return Object.freeze(tokens);
  },
};

/**
 * The operator a presented token belongs to, or null. Constant time: the
 * presented token is hashed first, so every comparison is between two 32-byte
 * digests with timingSafeEqual (a token of another length costs the same), and
 * every configured token is compared, with no early return, so the answer's
 * timing says neither which entry matched nor how much of a token was right.
 */
export function operatorFor(tokens: readonly OperatorToken[], presented: string): string | null {
  const digest = tokenDigest(presented);
  let found: string | null = null;
  for (const t of tokens) {
    if (timingSafeEqual(digest, t.digest) && found === null) found = t.name;
  }
  return found;
}

/** A new token and the configuration entry that admits it (the entry holds only its hash). */
export function mintOperatorToken(name: string): { token: string; entry: string } {
  if (!NAME.test(name))
    throw new Error(
      'the token name must be 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, entry: `${name}:${tokenDigest(token).toString('hex')}` };
}
