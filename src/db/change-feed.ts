import pg from 'pg';

/**
 * The database's change notices for the session cache (docs/architecture.md,
 * Session cache). Triggers (migrations/20261208T0100_session_cache_notices.ts)
 * NOTIFY the channel `tfa_cache_<schema>` in the transaction that changes a
 * session row, a user's sign-in relevant columns or their roles, so a notice
 * is sent exactly when the change commits, whoever made it: this instance,
 * another one, the CLI, an operator's SQL.
 *
 * Two ways in, for two guarantees:
 * - Own changes: on the pool's connections (which set tfa.own_notices=on
 *   when they connect) the triggers also send each payload back to the connection
 *   that made the change, as a NOTICE with SQLSTATE TFA01
 *   (migrations/20261210T0100_session_cache_own_notices.ts). They are held
 *   until the connection reports that its transaction is over (ReadyForQuery,
 *   status idle), then emitted before the statement's promise resolves, as a
 *   LISTENing connection's own notices were: an instance never serves a
 *   session after it answered the request that ended it. Held to the end, so a
 *   lookup sent between the change and its commit cannot keep the old row.
 *   A NOTICE goes to one connection; a NOTIFY wakes every listener of the
 *   database, which is why the pool no longer LISTENs (BENCHMARKS.md).
 * - One dedicated connection LISTENs all the time, for the changes of other
 *   processes. It is checked every second; while it is down the feed is
 *   `lost` and the cache is off.
 */
export type ChangeNotice = { kind: 'changed'; payload: string } | { kind: 'lost' } | { kind: 'live' };
export type ChangeListener = (notice: ChangeNotice) => void;

export interface ChangeFeed {
  /** Starts the feed on the first subscriber; the listener hears `live` once it is. Returns the unsubscribe. */
  subscribe(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

/** The channel of the connection's schema, as the triggers name it (at most 63 bytes, Postgres's limit). */
export const CHANNEL_SQL = `'tfa_cache_' || left(current_schema(), 50)`;
const LISTEN_SQL = `DO $$ BEGIN EXECUTE format('LISTEN %I', ${CHANNEL_SQL}); END $$`;
/** The SQLSTATE of the triggers' notices to the connection that made a change. */
const OWN_NOTICE_CODE = 'TFA01';
/**
 * Asks for them, with the notice level pinned so no role or database setting can
 * filter them out. A statement, not startup `options`, which poolers such as
 * PgBouncer refuse unless configured to.
 */
const OWN_NOTICES_SQL = 'set tfa.own_notices = on; set client_min_messages = notice';

const HEARTBEAT_MS = 1000;
const RECONNECT_MS = 1000;

class Broadcast {
  private readonly listeners = new Set<ChangeListener>();
  /** Ever had a listener: the feed runs from the first subscription until close(). */
  started = false;
  add(listener: ChangeListener): () => void {
    this.started = true;
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  emit(notice: ChangeNotice): void {
    for (const l of this.listeners) l(notice);
  }
}

/** Postgres: `onPoolConnect` goes on the pool's 'connect' event; the dedicated listener starts on subscribe. */
export function postgresChangeFeed(
  connection: pg.ClientConfig,
  opts: {
    /** More `set` statements for each pool connection, sent with the feed's own before any query (db/database.ts). */
    connectSettings?: string;
    /** The schema the pool works in, when not the default: part of the listener's name. */
    schema?: string;
  } = {},
): ChangeFeed & {
  onPoolConnect(client: pg.PoolClient): void;
} {
  const out = new Broadcast();
  const forward = (m: pg.Notification): void => {
    if (m.payload !== undefined) out.emit({ kind: 'changed', payload: m.payload });
  };
  let listener: pg.Client | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  let live = false;

  const lose = (): void => {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
    const client = listener;
    listener = undefined;
    client?.removeAllListeners('notification');
    client?.end().catch(() => {});
    if (live) out.emit({ kind: 'lost' });
    live = false;
    if (!closed && !retry) retry = setTimeout(start, RECONNECT_MS).unref();
  };

  const start = (): void => {
    retry = undefined;
    if (closed || listener) return;
    // Named, so an operator sees it in pg_stat_activity (and a test can cut it): the
    // process, and the schema when several share a database (each test file has its own).
    const client = new pg.Client({
      ...connection,
      keepAlive: true,
      application_name: `tfa-cache-listener/${process.pid}${opts.schema ? `/${opts.schema}` : ''}`,
    });
    listener = client;
    client.on('error', () => lose());
    client.on('end', () => {
      if (listener === client) lose();
    });
    client.on('notification', forward);
    client
      .connect()
      .then(() => client.query(LISTEN_SQL))
      .then(() => {
        if (listener !== client) return;
        live = true;
        out.emit({ kind: 'live' });
        heartbeat = setInterval(() => check(client), HEARTBEAT_MS).unref();
      })
      .catch(() => {
        if (listener === client) lose();
      });
  };

  // A connection that stops answering (a silent network partition) would also stop
  // delivering notices: one round trip a second, and no answer within two is a loss.
  let checking = false;
  const check = (client: pg.Client): void => {
    if (checking) return;
    checking = true;
    const timeout = setTimeout(() => listener === client && lose(), 2 * HEARTBEAT_MS).unref();
    client
      .query('select 1')
      .catch(() => listener === client && lose())
      .finally(() => {
        clearTimeout(timeout);
        checking = false;
      });
  };

  return {
    subscribe(l) {
      const first = !out.started;
      const unsubscribe = out.add(l);
      if (first) start();
      else if (live) l({ kind: 'live' });
      return unsubscribe;
    },
    onPoolConnect(client) {
      const held: string[] = [];
      client.on('notice', (msg: { code?: string; message?: string }) => {
        if (msg.code === OWN_NOTICE_CODE && msg.message !== undefined) held.push(msg.message);
      });
      // Registered after pg's own handler, which hands the query its result: this runs
      // before any code awaiting that result does.
      client.connection.on('readyForQuery', (msg: { status?: string }) => {
        if (held.length === 0 || msg.status !== 'I') return;
        for (const payload of held.splice(0)) out.emit({ kind: 'changed', payload });
      });
      // Queued before any query of the pool's: the connection asks before it is used.
      // One statement: pg warns about (and will refuse) a second query queued behind a running one.
      const settings = opts.connectSettings ? `${OWN_NOTICES_SQL}; ${opts.connectSettings}` : OWN_NOTICES_SQL;
      client.query(settings).catch(() => {
        // It failed because the connection did (the pool then drops it): what is cached
        // may have missed a change meanwhile, so it goes, as when the listener drops.
        if (listener) lose();
        else out.emit({ kind: 'lost' });
      });
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const client = listener;
      listener = undefined;
      if (heartbeat) clearInterval(heartbeat);
      live = false;
      await client?.end().catch(() => {});
    },
  };
}

/** PGlite: one connection in this process, which hears its own notices before each query returns. */
export function pgliteChangeFeed(pglite: {
  query<T>(sql: string): Promise<{ rows: T[] }>;
  listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>>;
}): ChangeFeed {
  const out = new Broadcast();
  let unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  return {
    subscribe(l) {
      const unsubscribe = out.add(l);
      unlisten ??= pglite
        .query<{ channel: string }>(`select ${CHANNEL_SQL} as channel`)
        .then(({ rows }) => pglite.listen(rows[0]!.channel, (payload) => out.emit({ kind: 'changed', payload })))
        .catch(() => undefined);
      void unlisten.then((stop) => stop && l({ kind: 'live' }));
      return unsubscribe;
    },
    async close() {
      const stop = await unlisten;
      await stop?.().catch(() => {});
    },
  };
}
