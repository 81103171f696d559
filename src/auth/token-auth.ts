import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { DB } from '../db/types.js';
import type { Auth, TokenResolver } from '../http/auth-context.js';
import { findTokenUser } from '../users/users.repository.js';
import { peekAuthToken, verifyAuthToken } from './tokens.js';

/**
 * The Authentication-Token header's caller (openapi.yaml, `include_auth_token`):
 * the user it names, if active, and only while the signature over the user's
 * current fs_uniquifier holds and the token has not expired. Passed to
 * registerAuthContext by buildApp, so http/ does not know the token format.
 */
export function tokenResolver(deps: { db: Kysely<DB>; hmac: KeyedHasher; clock: Clock }): TokenResolver {
  return (token) => authFromToken(deps, token);
}

async function authFromToken(
  deps: { db: Kysely<DB>; hmac: KeyedHasher; clock: Clock },
  token: string,
): Promise<Auth | null> {
  const claimed = peekAuthToken(token);
  if (!claimed) return null;
  const user = await findTokenUser(deps.db, claimed.u);
  if (!user || !user.active) return null;
  const payload = verifyAuthToken(deps.hmac, token, user.fs_uniquifier, deps.clock.now());
  if (!payload) return null;
  const { active: _a, ...sessionUser } = user;
  const methods = user.tf_primary_method ? ['password', user.tf_primary_method] : ['password'];
  return { user: sessionUser, via: 'token', authAt: new Date(payload.i * 1000), authnMethods: methods };
}
