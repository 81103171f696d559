/**
 * The in-process session cache (docs/architecture.md, Session cache): what a
 * session lookup read from the database, kept for at most `maxAgeMs`, evicted
 * as soon as the database says the row or its user changed.
 *
 * Evictions come as the payloads of the database's change notices
 * (migrations/20261208T0100_session_cache_notices.ts): `s:<id_hash>,…` for
 * session rows updated or deleted, `u:<user id>` for a user whose sign-in
 * relevant columns or roles changed, `*` for anything wider. The cache works
 * only while the notice feed is live (`enable`); when it is lost, everything is
 * dropped at once and lookups go to the database until it is back.
 *
 * A lookup in flight when a notice arrives must not put what it read: the row
 * may predate the change. Each lookup is a `Flight`; notices spoil the flights
 * they concern, and a spoiled flight's rows are served but not kept.
 */
export interface CachedSession<Row> {
  row: Row;
  userId: number | null;
  /** The session row's own expiry, ms since epoch: never served past it. */
  expiresAt: number;
}

interface Entry<Row> extends CachedSession<Row> {
  /** When the lookup that read it was sent, ms since epoch. */
  readAt: number;
}

export interface Flight {
  readonly ids: readonly string[];
  readonly startedAt: number;
  spoiledIds: Set<string> | null;
  spoiledUsers: Set<number> | null;
  spoiledAll: boolean;
}

export interface SessionCacheOptions {
  maxAgeMs: number;
  /** Entries beyond this evict the oldest (a bound on memory: ~1 KB each). */
  maxEntries: number;
}

export class SessionCache<Row> {
  private readonly entries = new Map<string, Entry<Row>>();
  private readonly byUser = new Map<number, Set<string>>();
  private readonly flights = new Set<Flight>();
  private live = false;

  constructor(private readonly opts: SessionCacheOptions) {}

  get enabled(): boolean {
    return this.live && this.opts.maxAgeMs > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The feed is live: from now on every change reaches `invalidate`. */
  enable(): void {
    this.live = true;
  }

  /** The feed is lost: changes may go unseen, so nothing cached can be trusted. */
  disable(): void {
    this.live = false;
    this.clear();
  }

  lookup(idHash: string, now: number): Row | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(idHash);
    if (entry && now - entry.readAt < this.opts.maxAgeMs && entry.expiresAt > now) {
      return entry.row;
    }
    if (entry) this.remove(idHash);
    return undefined;
  }

  /** A lookup of `ids` is about to be sent. */
  begin(ids: readonly string[], now: number): Flight {
    const flight: Flight = { ids, startedAt: now, spoiledIds: null, spoiledUsers: null, spoiledAll: !this.enabled };
    if (!flight.spoiledAll) this.flights.add(flight);
    return flight;
  }

  /** The lookup came back (or failed: `found` empty). Keeps what no notice spoiled meanwhile. */
  end(flight: Flight, found: Iterable<[string, CachedSession<Row>]>): void {
    this.flights.delete(flight);
    if (flight.spoiledAll || !this.enabled) return;
    for (const [idHash, session] of found) {
      if (flight.spoiledIds?.has(idHash)) continue;
      if (session.userId !== null && flight.spoiledUsers?.has(session.userId)) continue;
      this.put(idHash, { ...session, readAt: flight.startedAt });
    }
  }

  /** A change notice's payload (see above). Unknown payloads clear everything: safe whatever they meant. */
  invalidate(payload: string): void {
    if (payload.startsWith('s:')) {
      for (const id of payload.slice(2).split(',')) {
        this.remove(id);
        for (const f of this.flights) (f.spoiledIds ??= new Set()).add(id);
      }
      return;
    }
    if (payload.startsWith('u:')) {
      for (const raw of payload.slice(2).split(',')) {
        const userId = Number(raw);
        if (!Number.isSafeInteger(userId)) return this.clear();
        for (const id of [...(this.byUser.get(userId) ?? [])]) this.remove(id);
        for (const f of this.flights) (f.spoiledUsers ??= new Set()).add(userId);
      }
      return;
    }
    this.clear();
  }

  clear(): void {
    this.entries.clear();
    this.byUser.clear();
    for (const f of this.flights) f.spoiledAll = true;
  }

  private put(idHash: string, entry: Entry<Row>): void {
    this.remove(idHash);
    if (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.remove(oldest.value);
    }
    this.entries.set(idHash, entry);
    if (entry.userId !== null) {
      let ids = this.byUser.get(entry.userId);
      if (!ids) this.byUser.set(entry.userId, (ids = new Set()));
      ids.add(idHash);
    }
  }

  private remove(idHash: string): void {
    const entry = this.entries.get(idHash);
    if (!entry) return;
    this.entries.delete(idHash);
    if (entry.userId === null) return;
    const ids = this.byUser.get(entry.userId);
    ids?.delete(idHash);
    if (ids?.size === 0) this.byUser.delete(entry.userId);
  }
}
