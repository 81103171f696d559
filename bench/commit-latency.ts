/**
 * `node --import tsx bench/commit-latency.ts [--rounds N] [--admin-url URL]`: the
 * round trip of one statement on one connection, one after the other, so what
 * the disk adds to a write that commits (WAL flush, `synchronous_commit on`)
 * shows against a read and against a write that needs no flush (a temporary
 * table). BENCHMARKS.md uses it to tell whether the wrong-code path at 8
 * clients waits for the disk or for the CPU.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2000' },
    'admin-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const rounds = Number(args.rounds);
const client = new pg.Client({ connectionString: args['admin-url'] });
await client.connect();
const table = `commit_latency_${randomBytes(4).toString('hex')}`;
await client.query(`create table ${table} (id serial primary key, v integer)`);
await client.query('create temporary table commit_latency_temp (id serial primary key, v integer)');

async function perStatementMs(text: string): Promise<number> {
  for (let i = 0; i < 100; i++) await client.query(text, [i]);
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await client.query(text, [i]);
  return Number(process.hrtime.bigint() - start) / rounds / 1e6;
}

try {
  const rows: Array<[string, number]> = [
    ['read (select $1)', await perStatementMs('select $1::integer')],
    ['insert that commits (WAL flush)', await perStatementMs(`insert into ${table} (v) values ($1)`)],
    [
      'insert into a temporary table (no flush)',
      await perStatementMs('insert into commit_latency_temp (v) values ($1)'),
    ],
  ];
  console.log(`${rounds} statements each, one connection, one after the other:`);
  for (const [label, ms] of rows) console.log(`  ${label}: ${ms.toFixed(3)} ms`);
} finally {
  await client.query(`drop table ${table}`);
  await client.end();
}
