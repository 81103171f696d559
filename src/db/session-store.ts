import type { FastifyRequest, Session } from 'fastify';
import { sql, type CompiledQuery, type InferResult, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { TwoFactorMethod } from '../config/schema.js';
import { withStatement } from './cte.js';
import type { CachedSession, SessionCache } from './session-cache.js';
import type { AuditEventsTable, DB } from './types.js';
import type { PolicySubject } from '../policy/two-factor-policy.js';
import { policySubject, roleNames } from '../policy/policy.repository.js';

type Callback<T = void> = (err?: unknown, result?: T) => void;

/** What the store learns about the signed-in user while loading the session (one query). */
export interface SessionUser {
  id: number;
  email: string;
  fs_uniquifier: string;
  tf_primary_method: TwoFactorMethod | null;
  /** What the two-factor policy reads (GET /me); loaded with the session or token, absent for a user signed in by this request. */
  policy?: PolicySubject;
}

export const SESSION_USER = '_user';

export interface SessionStoreOptions {
  hashId: (sessionId: string) => string;
  clock: Clock;
  /** Server-side lifetime of a session that has no persistent cookie, in seconds. */
  lifetimeSeconds: number;
  /** The session cookie's name: a session came from a row only if the cookie named it. */
  cookieName: string;
  /** The in-process cache (session-cache.ts), when SESSION_CACHE_MAX_AGE is not 0. */
  cache?: SessionCache<CachedRow>;
}

function lookupQuery(db: Kysely<DB>, idHashes: string[], now: Date) {
  return db
    .selectFrom('sessions as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .select([
      's.id_hash',
      's.data',
      's.user_id',
      's.expires_at',
      'u.email',
      'u.fs_uniquifier',
      'u.active',
      'u.tf_primary_method',
      'u.tf_required',
      'u.tf_grace_started_at',
      roleNames('s.user_id').as('roles'),
    ])
    .where(sql<boolean>`s.id_hash = any(${idHashes}::varchar[])`)
    .where('s.expires_at', '>', now);
}
type LookupRow = InferResult<ReturnType<typeof lookupQuery>>[number];
/** A looked-up row as the cache keeps it: the session data as JSON, parsed afresh for every request (they mutate it). */
export type CachedRow = Omit<LookupRow, 'data'> & { json: string };

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
 *
 * Rotating the id (`rotate`, instead of `Session#regenerate`) writes once: the
 * old row is deleted by the statement that writes the new one, at the end of the
 * request. regenerate() alone deletes the old row, writes the new session
 * empty, and the answer writes it again with its data: three statements.
 */
export class KyselySessionStore {
  /**
   * The lookup runs on every request: built and compiled once, then executed with
   * new parameters (building it each time cost more CPU than the rest of the store).
   */
  private readonly lookup: CompiledQuery<LookupRow>;
  private waiting = new Map<string, Waiter[]>();
  private flushScheduled = false;
  /** Ids being rotated away: regenerate() must not delete their row (it goes with the successor's write, or there is none). */
  private readonly rotating = new Set<string>();
  /** A rotated session → the hash of the row it replaces, deleted when the session is written. */
  private readonly replaces = new WeakMap<object, string>();
  /** Sessions being destroyed → the audit row written by the same statement (POST /logout). */
  private readonly destroyAudit = new Map<string, Insertable<AuditEventsTable>>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly opts: SessionStoreOptions,
  ) {
    this.lookup = lookupQuery(db, [], new Date(0)).compile();
  }

  get(sessionId: string, cb: Callback<Session | null>): void {
    const idHash = this.opts.hashId(sessionId);
    const cached = this.opts.cache?.lookup(idHash, this.opts.clock.now().getTime());
    if (cached) return cb(undefined, sessionOf(cached, JSON.parse(cached.json) as Session));
    this.load(idHash, (err, row) => {
      if (err) return cb(err);
      cb(undefined, row ? sessionOf(row, row.data as unknown as Session) : null);
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
    const now = this.opts.clock.now();
    const ids = [...batch.keys()];
    const cache = this.opts.cache;
    const flight = cache?.begin(ids, now.getTime());
    this.db.executeQuery<LookupRow>({ ...this.lookup, parameters: [ids, now] }).then(
      ({ rows }) => {
        if (cache && flight) cache.end(flight, rows.map(toCached));
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
        if (cache && flight) cache.end(flight, []);
        for (const waiters of batch.values()) for (const w of waiters) w(err, undefined);
      },
    );
  }

  /**
   * This process's own writes evict at once, before the statement is sent: a
   * lookup in flight cannot put the old row back (the flight is spoiled), and the
   * database's notice of the change, heard on the same connection before the
   * write returns (change-feed.ts), evicts again whatever came in between.
   */
  private evict(idHash: string): void {
    this.opts.cache?.invalidate(`s:${idHash}`);
  }

  set(sessionId: string, session: Session, cb: Callback): void {
    // regenerate() writes its new, empty session at once. Nobody holds its id yet
    // (the cookie is set only by a save at the end of the request, which writes the
    // row with its data), so that write is skipped; so is any unmodified session.
    if ((session as unknown as { isModified?: () => boolean }).isModified?.() === false) return cb();
    // The cookie's settings are kept with the data: a remembered session must come back
    // with its expiry, or the next answer would turn it into a browser-session cookie.
    const { [SESSION_USER]: _user, ...data } = session as unknown as Record<string, unknown> & {
      cookie: { expires?: Date | null };
    };
    const now = this.opts.clock.now();
    const expires =
      data.cookie?.expires instanceof Date
        ? data.cookie.expires
        : new Date(now.getTime() + this.opts.lifetimeSeconds * 1000);
    const userId = typeof data.userId === 'number' ? data.userId : null;
    const row = {
      id_hash: this.opts.hashId(sessionId),
      user_id: userId,
      data: JSON.stringify(data),
      expires_at: expires,
    };
    const replaced = this.replaces.get(session);
    this.evict(row.id_hash);
    if (replaced !== undefined) this.evict(replaced);
    const db =
      replaced === undefined
        ? this.db
        : withStatement(this.db.with('replaced', (qb) => qb.deleteFrom('sessions').where('id_hash', '=', replaced)));
    db.insertInto('sessions')
      .values(row)
      .onConflict((oc) => oc.column('id_hash').doUpdateSet({ user_id: userId, data: row.data, expires_at: expires }))
      .execute()
      .then(() => {
        this.replaces.delete(session);
        cb();
      }, cb);
  }

  destroy(sessionId: string, cb: Callback): void {
    if (this.rotating.delete(sessionId)) return cb();
    const audit = this.destroyAudit.get(sessionId);
    this.destroyAudit.delete(sessionId);
    const db =
      audit === undefined
        ? this.db
        : withStatement(this.db.with('audit', (qb) => qb.insertInto('audit_events').values(audit)));
    const idHash = this.opts.hashId(sessionId);
    this.evict(idHash);
    db.deleteFrom('sessions')
      .where('id_hash', '=', idHash)
      .execute()
      .then(() => cb(), cb);
  }

  /**
   * A new session id for the request (session fixation: docs/architecture.md, Sessions, rotates it on
   * every privilege change), with nothing of the old session's data. The old
   * row, if the request came with one, is deleted when the new session is
   * written; `settle` makes sure of it if the request ends without that write.
   */
  async rotate(request: FastifyRequest): Promise<void> {
    const old = request.session;
    // @fastify/session keeps the cookie's id only for a session it loaded from a row.
    const stored = request.cookies[this.opts.cookieName] === old.encryptedSessionId;
    const replaced = stored ? this.opts.hashId(old.sessionId) : this.replaces.get(old);
    this.rotating.add(old.sessionId);
    try {
      await old.regenerate();
    } finally {
      this.rotating.delete(old.sessionId);
    }
    if (replaced !== undefined) this.replaces.set(request.session, replaced);
  }

  /**
   * Deletes a rotated-away row whose successor was not written (nothing was set
   * after the rotation, so @fastify/session saved nothing). Null when there is nothing to do, the case of almost
   * every request, so the hook costs no promise.
   */
  settle(request: FastifyRequest): Promise<void> | null {
    const session = request.session;
    const replaced = session ? this.replaces.get(session) : undefined;
    if (replaced === undefined) return null;
    this.replaces.delete(session);
    this.evict(replaced);
    return this.db
      .deleteFrom('sessions')
      .where('id_hash', '=', replaced)
      .execute()
      .then(() => undefined);
  }

  /** Ends the request's session; the audit row (signout) is written by the same statement. */
  async end(request: FastifyRequest, audit: Insertable<AuditEventsTable> | null): Promise<void> {
    const id = request.session.sessionId;
    if (audit) this.destroyAudit.set(id, audit);
    try {
      await request.session.destroy();
    } finally {
      this.destroyAudit.delete(id);
    }
  }
}

/** The session @fastify/session gets: the row's data with the user, or null when the user no longer holds it. */
function sessionOf(row: Omit<LookupRow, 'data'>, data: Session): Session | null {
  if (row.user_id === null) return data;
  // Void when the user was deactivated or their fs_uniquifier changed (password change, reset).
  if (row.active !== true || row.fs_uniquifier !== data.fsUniquifier) return null;
  const user: SessionUser = {
    id: row.user_id,
    email: row.email!,
    fs_uniquifier: row.fs_uniquifier,
    tf_primary_method: row.tf_primary_method ?? null,
    policy: policySubject(row),
  };
  return { ...data, [SESSION_USER]: user } as Session;
}

function toCached(row: LookupRow): [string, CachedSession<CachedRow>] {
  const { data, ...rest } = row;
  return [
    row.id_hash,
    { row: { ...rest, json: JSON.stringify(data) }, userId: row.user_id, expiresAt: row.expires_at.getTime() },
  ];
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
