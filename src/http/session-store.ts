import type { Session } from 'fastify';
import { sql, type CompiledQuery, type InferResult, type Kysely, type Transaction } from 'kysely';
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

function lookupQuery(db: Kysely<DB>, idHashes: string[], now: Date) {
  return db
    .selectFrom('sessions as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id_hash', 's.data', 's.user_id', 'u.email', 'u.fs_uniquifier', 'u.active', 'u.tf_primary_method'])
    .where(sql<boolean>`s.id_hash = any(${idHashes}::varchar[])`)
    .where('s.expires_at', '>', now);
}
type LookupRow = InferResult<ReturnType<typeof lookupQuery>>[number];

/** Most lookups one statement carries; a burst beyond it goes out as several. */
const MAX_BATCH = 256;

type Waiter = (err: unknown, row: LookupRow | undefined) => void;

/**
 * @fastify/session store on Postgres through Kysely. Ids are stored only as
 * keyed hashes. Loading joins the user, so a session whose user was
 * deactivated or whose fs_uniquifier changed (password change, reset) is void
 * in the same single round trip that reads it.
 *
 * Lookups are batched: every session asked for while the event loop handles
 * one round of I/O goes out as a single `id_hash = any($1)` statement at the
 * end of that round (setImmediate). Under load that is one round trip for many
 * requests instead of one each — the pg driver, the pool and the socket writes
 * were a third of a `GET /me` (BENCHMARKS.md) — and a lone request waits for
 * nothing but the rest of its own loop turn. Each request still reads the row
 * as it is when the statement runs, after anything that was already answered.
 */
export class KyselySessionStore {
  /**
   * The lookup runs on every request: built and compiled once, then executed with
   * new parameters (building it each time cost more CPU than the rest of the store).
   */
  private readonly lookup: CompiledQuery<LookupRow>;
  private waiting = new Map<string, Waiter[]>();
  private flushScheduled = false;

  constructor(private readonly db: Kysely<DB>, private readonly opts: SessionStoreOptions) {
    this.lookup = lookupQuery(db, [], new Date(0)).compile();
  }

  get(sessionId: string, cb: Callback<Session | null>): void {
    this.load(this.opts.hashId(sessionId), (err, row) => {
      if (err) return cb(err);
      if (!row) return cb(undefined, null);
      const data = row.data as unknown as Session;
      if (row.user_id !== null) {
        const valid = row.active === true && row.fs_uniquifier === data.fsUniquifier;
        if (!valid) return cb(undefined, null);
        const user: SessionUser = { id: row.user_id, email: row.email!, fs_uniquifier: row.fs_uniquifier!, tf_primary_method: row.tf_primary_method ?? null };
        return cb(undefined, { ...data, [SESSION_USER]: user } as Session);
      }
      cb(undefined, data);
    });
  }

  private load(idHash: string, waiter: Waiter): void {
    const same = this.waiting.get(idHash);
    if (same) same.push(waiter);
    else this.waiting.set(idHash, [waiter]);
    if (this.waiting.size >= MAX_BATCH) return this.flush();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.size === 0) return;
    this.waiting = new Map();
    this.flushScheduled = false;
    this.db.executeQuery<LookupRow>({ ...this.lookup, parameters: [[...batch.keys()], this.opts.clock.now()] }).then(
      ({ rows }) => {
        for (const row of rows) {
          const waiters = batch.get(row.id_hash);
          if (!waiters) continue;
          batch.delete(row.id_hash);
          // Requests on the same session each get their own copy: they mutate what they load.
          waiters.forEach((w, i) => w(undefined, i === 0 ? row : structuredClone(row)));
        }
        for (const waiters of batch.values()) for (const w of waiters) w(undefined, undefined);
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w(err, undefined);
      },
    );
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

