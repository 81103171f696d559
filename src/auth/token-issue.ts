import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import { insertAuthToken } from './token-rows.repository.js';
import { encodeAuthToken } from './tokens.js';

/** One sign-in, as the tokens it issues carry it (docs/backend-services.md). */
export interface SignInGrant {
  /** Ties the sign-in's session, auth tokens and refresh tokens together: signing out revokes them all. */
  signinId: string;
  /** When the user signed in (or last passed /verify): freshness and max_age are measured from it. */
  authAt: Date;
  methods: string[];
  /** When the second factor was passed, or null. */
  tfAt: Date | null;
}

export interface TokenIssueDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
}

export function newSigninId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * An Authentication-Token for the grant, valid for SECURITY_TOKEN_MAX_AGE from
 * now. Unless SECURITY_TOKEN_STATELESS, it gets an auth_tokens row bound to the
 * sign-in, so that signing out revokes it everywhere at once.
 */
export async function issueAccessToken(
  deps: TokenIssueDeps,
  user: { id: number; fs_uniquifier: string },
  grant: SignInGrant,
): Promise<string> {
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + deps.config.SECURITY_TOKEN_MAX_AGE * 1000);
  let tokenId: string | undefined;
  if (!deps.config.SECURITY_TOKEN_STATELESS) {
    tokenId = randomBytes(16).toString('hex');
    await insertAuthToken(deps.db, {
      id: tokenId,
      userId: user.id,
      signinId: grant.signinId,
      issuedAt: now,
      expiresAt,
    });
  }
  const claims = {
    userId: user.id,
    authAt: grant.authAt,
    expiresAt,
    tokenId,
    methods: grant.methods,
    tfAt: grant.tfAt,
  };
  return encodeAuthToken(deps.hmac, claims, user.fs_uniquifier);
}
