/**
 * `node --import tsx bench/cache-window.ts [--rounds N] [--admin-url URL]`: how
 * long another instance serves a session from its cache after a change commits
 * (docs/architecture.md, Session cache). Two connection pools on one fresh
 * schema stand for two instances: B changes a session row, A's change feed
 * hears the notice. Printed: the time from B's commit being reported to B
 * (its statement's promise) to A's eviction, whose p99 is the cross-instance
 * window, and from B sending the statement to A's eviction. Also what each
 * change cost: CPU µs of every Postgres process and of this process (both
 * "instances" and their drivers), per change, with pools of `--pool`
 * connections each (the service's default, 10): every connection that LISTENs
 * is woken by every NOTIFY of the database (docs/architecture.md, Session cache).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { snapshot } from './cpu.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1000' },
    pool: { type: 'string', default: '10' },
    'admin-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});

const schema = `cache_window_${process.pid}`;
const admin = new pg.Client({ connectionString: args['admin-url'] });
await admin.connect();
await admin.query(`create schema "${schema}"`);
const open = () =>
  openDatabase({ databaseUrl: args['admin-url'], dataDir: 'memory://', schema, poolSize: Number(args.pool) });
const [a, b] = [await open(), await open()];
try {
  await migrateToLatest(a.db as never);
  const idHash = randomBytes(32).toString('base64url');
  await sql`insert into sessions (id_hash, user_id, data, expires_at) values (${idHash}, null, '{}', now() + interval '1 day')`.execute(
    b.db,
  );
  let heard: ((at: number) => void) | undefined;
  const live = new Promise<void>((resolve) =>
    a.changes.subscribe((n) => {
      if (n.kind === 'live') resolve();
      if (n.kind === 'changed' && n.payload === `s:${idHash}`) heard?.(performance.now());
    }),
  );
  await live;
  // Every connection of both pools open (and, before 20261210T0100, LISTENing), as in a busy instance.
  for (const d of [a, b]) {
    await Promise.all(
      Array.from({ length: Number(args.pool) }, () =>
        d.db.connection().execute(async (c) => {
          await sql`select pg_sleep(0.05)`.execute(c);
        }),
      ),
    );
  }
  const cpuBefore = snapshot([]);
  const afterCommit: number[] = [];
  const afterSend: number[] = [];
  for (let i = 0; i < Number(args.rounds); i++) {
    const atA = new Promise<number>((resolve) => (heard = resolve));
    const sent = performance.now();
    await sql`update sessions set data = ${JSON.stringify({ round: i })} where id_hash = ${idHash}`.execute(b.db);
    const committed = performance.now();
    const evicted = await atA;
    afterCommit.push(Math.max(0, evicted - committed));
    afterSend.push(evicted - sent);
  }
  const cpuAfter = snapshot([]);
  const perChange = (ticks: number) => ((ticks * 10_000) / afterCommit.length).toFixed(0);
  const pct = (xs: number[], p: number) =>
    [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const line = (name: string, xs: number[]) =>
    `${name}: p50 ${pct(xs, 0.5).toFixed(3)} ms, p99 ${pct(xs, 0.99).toFixed(3)} ms, max ${Math.max(...xs).toFixed(3)} ms`;
  console.log(`${afterCommit.length} changes of one session row on B, heard by A's change feed`);
  console.log(line('after B was told of its commit (the window)', afterCommit));
  console.log(line('after B sent the statement', afterSend));
  console.log(
    `A heard it before B was told of the commit in ${afterCommit.filter((x) => x === 0).length} of ${afterCommit.length}`,
  );
  console.log(
    `CPU per change, pools of ${args.pool}: Postgres ${perChange(cpuAfter.postgres - cpuBefore.postgres)} µs, ` +
      `this process ${perChange(cpuAfter.bench - cpuBefore.bench)} µs`,
  );
} finally {
  await a.close();
  await b.close();
  await admin.query(`drop schema "${schema}" cascade`);
  await admin.end();
}
