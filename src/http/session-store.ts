import type { Session } from 'fastify';
import type { CompiledQuery, InferResult, Kysely, Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { DB } from '../db/types.js';

type Callback<T = void> = (err?: unknown, result?: T) => void;

/** What the store learns about the signed-in user while loading the session (one query). */
export interface SessionUser {
  id: number;
  email: string;
  fs_uniquifier: string;
  tf_primary_method: string | null;
}

export const SESSION_USER = '_user';

export interface SessionStoreOptions {
  hashId: (sessionId: string) => string;
  clock: Clock;
  /** Server-side lifetime of a session that has no persistent cookie, in seconds. */
  lifetimeSeconds: number;
}

function lookupQuery(db: Kysely<DB>, idHash: string, now: Date) {
  return db
    .selectFrom('sessions as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .select(['s.data', 's.user_id', 'u.email', 'u.fs_uniquifier', 'u.active', 'u.tf_primary_method'])
    .where('s.id_hash', '=', idHash)
    .where('s.expires_at', '>', now);
}
type LookupRow = InferResult<ReturnType<typeof lookupQuery>>[number];

/**
 * @fastify/session store on Postgres through Kysely. Ids are stored only as
 * keyed hashes. Loading joins the user, so a session whose user was
 * deactivated or whose fs_uniquifier changed (password change, reset) is void
 * in the same single round trip that reads it.
 */
export class KyselySessionStore {
  /**
   * The lookup runs on every request: built and compiled once, then executed with
   * new parameters (building it each time cost more CPU than the rest of the store).
   */
  private readonly lookup: CompiledQuery<LookupRow>;

  constructor(private readonly db: Kysely<DB>, private readonly opts: SessionStoreOptions) {
    this.lookup = lookupQuery(db, '', new Date(0)).compile();
  }

  get(sessionId: string, cb: Callback<Session | null>): void {
    this.db
      .executeQuery<LookupRow>({ ...this.lookup, parameters: [this.opts.hashId(sessionId), this.opts.clock.now()] })
      .then(({ rows: [row] }) => {
        if (!row) return cb(undefined, null);
        const data = row.data as unknown as Session;
        if (row.user_id !== null) {
          const valid = row.active === true && row.fs_uniquifier === data.fsUniquifier;
          if (!valid) return cb(undefined, null);
          const user: SessionUser = { id: row.user_id, email: row.email!, fs_uniquifier: row.fs_uniquifier!, tf_primary_method: row.tf_primary_method ?? null };
          return cb(undefined, { ...data, [SESSION_USER]: user } as Session);
        }
        cb(undefined, data);
      }, cb);
  }

  set(sessionId: string, session: Session, cb: Callback): void {
    // The cookie's settings are kept with the data: a remembered session must come back
    // with its expiry, or the next answer would turn it into a browser-session cookie.
    const { [SESSION_USER]: _user, ...data } = session as unknown as Record<string, unknown> & { cookie: { expires?: Date | null } };
    const now = this.opts.clock.now();
    const expires = data.cookie?.expires instanceof Date ? data.cookie.expires : new Date(now.getTime() + this.opts.lifetimeSeconds * 1000);
    const userId = typeof data.userId === 'number' ? data.userId : null;
    const row = { id_hash: this.opts.hashId(sessionId), user_id: userId, data: JSON.stringify(data), expires_at: expires };
    this.db
      .insertInto('sessions')
      .values(row)
      .onConflict((oc) => oc.column('id_hash').doUpdateSet({ user_id: userId, data: row.data, expires_at: expires }))
      .execute()
      .then(() => cb(), cb);
  }

  destroy(sessionId: string, cb: Callback): void {
    this.db
      .deleteFrom('sessions')
      .where('id_hash', '=', this.opts.hashId(sessionId))
      .execute()
      .then(() => cb(), cb);
  }
}

/** Expired rows are ours to remove: @fastify/session never deletes what it does not read. */
export async function pruneExpiredSessions(db: Kysely<DB>, now: Date): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Ends every session of a user (password change, deactivation, reset): rows, not just their validity. */
export async function deleteUserSessions(db: Kysely<DB> | Transaction<DB>, userId: number): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

