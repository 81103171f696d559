import {
  type CompiledQuery,
  type QueryCreator,
  type InferResult,
  type Insertable,
  type Kysely,
  type Transaction,
} from 'kysely';
import type { Clock } from '../clock.js';
import type { TwoFactorMethod } from '../config/schema.js';
import { withStatement } from './cte.js';
import type { CachedSession, SessionCache } from './session-cache.js';
import type { AuditEventsTable, DB } from './types.js';
import type { PolicySubject } from '../policy/two-factor-policy.js';
import { policySubject, roleNames } from '../policy/policy.repository.js';

/**
 * A remembered session's cookie lifetime, kept with the session's data. Rows
 * written by @fastify/session (before http/session.ts) hold more fields here
 * (path, sameSite, …); they are kept as they are and only these two are read.
 */
export interface SessionCookieData {
  /** ms; set for a remembered sign-in, whose cookie and row live this long from the session's last write. */
  originalMaxAge?: number | null;
  /** ISO time the cookie and the row expire (a Date while being written). */
  expires?: string | Date | null;
  [key: string]: unknown;
}

/** What a session holds. Signed-in and pending states are mutually exclusive. */
export interface SessionData {
  userId?: number;
  fsUniquifier?: string;
  /** ms since epoch of the last sign-in or /verify (freshness, README, SECURITY_FRESHNESS). */
  authAt?: number;
  authnMethods?: string[];
  /** ms since epoch the sign-in passed its second factor (GET /me `tf_authenticated_at`). */
  tfAt?: number | null;
  /** The sign-in this session is: its tokens are revoked when it signs out (docs/backend-services.md). */
  signinId?: string;
  /** This sign-in handed out a token (or refresh token): /logout has some to revoke. */
  tokensIssued?: boolean;
  remember?: boolean;
  /** A pending sign-in or setup (tf_pending row id). */
  pendingId?: string;
  cookie?: SessionCookieData;
  [key: string]: unknown;
}

/** What the store learns about the signed-in user while loading the session (one query). */
export interface SessionUser {
  id: number;
  email: string;
  fs_uniquifier: string;
  tf_primary_method: TwoFactorMethod | null;
  /** What the two-factor policy reads (GET /me); loaded with the session or token, absent for a user signed in by this request. */
  policy?: PolicySubject;
}

/** A session as its row holds it: the data (the caller's to mutate), that data's JSON as read, and its user. */
export interface LoadedSession {
  data: SessionData;
  json: string;
  user: SessionUser | undefined;
}

export interface SessionStoreOptions {
  hashId: (sessionId: string) => string;
  clock: Clock;
  /** The in-process cache (session-cache.ts), when SESSION_CACHE_MAX_AGE is not 0. */
  cache?: SessionCache<CachedRow>;
}

/**
 * The ids go in as `id_hash in ($1, …, $n)`, n a power of two (`lookupSize`), not
 * as one array in `= any($1)`. Postgres planned the array form afresh on every run
 * (its custom plan, for the array at hand, always looks cheaper than a generic
 * plan for an array of any length): 0.43 ms of its CPU per lookup under load,
 * four times the run itself. A list of n parameters gets a generic plan after a
 * few runs, kept by the connection, so each of the nine shapes is planned a few
 * times per connection and never again (BENCHMARKS.md, "Planning").
 */
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
    .where('s.id_hash', 'in', idHashes)
    .where('s.expires_at', '>', now);
}

/** The parameter list a batch of `n` ids goes out with: the next power of two, padded by repeating an id. */
export function lookupSize(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
type LookupRow = InferResult<ReturnType<typeof lookupQuery>>[number];
/** A looked-up row as the cache keeps it: the session data as JSON, parsed afresh for every request (they mutate it). */
export type CachedRow = Omit<LookupRow, 'data'> & { json: string };

/** Most lookups one statement carries; a burst beyond it goes out as several. */
const MAX_BATCH = 256;

type Waiter = (err: unknown, row: CachedRow | undefined, data: SessionData | undefined) => void;

/**
 * The sessions' rows (the sessions plugin, http/session.ts, decides when to
 * read and write them). Ids are stored only as keyed hashes. Loading joins the
 * user, so a session whose user was deactivated or whose fs_uniquifier changed
 * (password change, reset) is void in the same single round trip that reads it.
 *
 * Lookups are batched: every session asked for while the event loop handles
 * one round of I/O goes out as a single `id_hash in (…)` statement at the
 * end of that round (setImmediate). Under load that is one round trip for many
 * requests instead of one each — the pg driver, the pool and the socket writes
 * were a third of a `GET /me` (BENCHMARKS.md) — and a lone request waits for
 * nothing but the rest of its own loop turn. Each request still reads the row
 * as it is when the statement runs, after anything that was already answered.
 *
 * A rotated session is written once: the row it replaces is deleted by the
 * statement that writes it (`write` with `replaces`).
 */
export class KyselySessionStore {
  /**
   * The lookup runs on every request: built and compiled once per list size, then
   * executed with new parameters (building it each time cost more CPU than the rest
   * of the store).
   */
  private readonly lookups = new Map<number, CompiledQuery<LookupRow>>();
  private waiting = new Map<string, Waiter[]>();
  private flushScheduled = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly opts: SessionStoreOptions,
  ) {}

  private lookup(ids: string[], now: Date): CompiledQuery<LookupRow> {
    const size = lookupSize(ids.length);
    let compiled = this.lookups.get(size);
    if (!compiled) {
      compiled = lookupQuery(this.db, Array<string>(size).fill(''), new Date(0)).compile();
      this.lookups.set(size, compiled);
    }
    // Repeating an id matches nothing more: `in` yields each row once.
    const padded = ids.concat(Array<string>(size - ids.length).fill(ids[0]!));
    return { ...compiled, parameters: [...padded, now] };
  }

  hashId(sessionId: string): string {
    return this.opts.hashId(sessionId);
  }

  /** The session under this id, or null when there is none (or its user no longer holds it). */
  get(sessionId: string, cb: (err: unknown, loaded: LoadedSession | null) => void): void {
    const idHash = this.opts.hashId(sessionId);
    const cached = this.opts.cache?.lookup(idHash, this.opts.clock.now().getTime());
    if (cached) return cb(undefined, sessionOf(cached, JSON.parse(cached.json) as SessionData));
    this.load(idHash, (err, row, data) => {
      if (err) return cb(err, null);
      cb(undefined, row ? sessionOf(row, data!) : null);
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
    this.db.executeQuery<LookupRow>(this.lookup(ids, now)).then(
      ({ rows }) => {
        const read = rows.map(toCached);
        if (cache && flight) cache.end(flight, read);
        for (let r = 0; r < rows.length; r++) {
          const [idHash, { row }] = read[r]!;
          const waiters = batch.get(idHash);
          if (!waiters) continue;
          batch.delete(idHash);
          // Requests on the same session each get their own copy: they mutate what they load.
          waiters.forEach((w, i) => w(undefined, row, i === 0 ? rows[r]!.data : (JSON.parse(row.json) as SessionData)));
        }
        for (const waiters of batch.values()) for (const w of waiters) w(undefined, undefined, undefined);
      },
      (err: unknown) => {
        if (cache && flight) cache.end(flight, []);
        for (const waiters of batch.values()) for (const w of waiters) w(err, undefined, undefined);
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

  /**
   * Writes a session's row (`json`: its data), and deletes the row it replaces
   * (rotation: `replaces`, a key hash) in the same statement.
   */
  async write(sessionId: string, row: { json: string; userId: number | null; expires: Date }, replaces?: string) {
    const idHash = this.opts.hashId(sessionId);
    this.evict(idHash);
    if (replaces !== undefined) this.evict(replaces);
    const db =
      replaces === undefined
        ? this.db
        : withStatement(this.db.with('replaced', (qb) => qb.deleteFrom('sessions').where('id_hash', '=', replaces)));
    const values = { user_id: row.userId, data: row.json, expires_at: row.expires };
    await db
      .insertInto('sessions')
      .values({ id_hash: idHash, ...values })
      .onConflict((oc) => oc.column('id_hash').doUpdateSet(values))
      .execute();
  }

  /** Deletes a session's row; `audit` (the signout row) is written by the same statement. */
  async remove(sessionId: string, audit: Insertable<AuditEventsTable> | null): Promise<void> {
    const db =
      audit === null
        ? this.db
        : withStatement(this.db.with('audit', (qb) => qb.insertInto('audit_events').values(audit)));
    await this.removeRow(this.opts.hashId(sessionId), db);
  }

  /** Deletes the row under a key hash (a rotated-away session whose successor was never written). */
  async removeRow(idHash: string, db: QueryCreator<DB> = this.db): Promise<void> {
    this.evict(idHash);
    await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }
}

/** The session as loaded, or null when its user no longer holds it. */
function sessionOf(row: CachedRow, data: SessionData): LoadedSession | null {
  if (row.user_id === null) return { data, json: row.json, user: undefined };
  // Void when the user was deactivated or their fs_uniquifier changed (password change, reset).
  if (row.active !== true || row.fs_uniquifier !== data.fsUniquifier) return null;
  const user: SessionUser = {
    id: row.user_id,
    email: row.email!,
    fs_uniquifier: row.fs_uniquifier,
    tf_primary_method: row.tf_primary_method ?? null,
    policy: policySubject(row),
  };
  return { data, json: row.json, user };
}

function toCached(row: LookupRow): [string, CachedSession<CachedRow>] {
  const { data, ...rest } = row;
  return [
    row.id_hash,
    { row: { ...rest, json: JSON.stringify(data) }, userId: row.user_id, expiresAt: row.expires_at.getTime() },
  ];
}

/** Expired rows are ours to remove: a lookup skips them but does not delete them. */
export async function pruneExpiredSessions(db: Kysely<DB>, now: Date): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Ends every session of a user (password change, deactivation, reset): rows, not just their validity. */
export async function deleteUserSessions(db: Kysely<DB> | Transaction<DB>, userId: number): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}
