// Preloaded into the server the bench starts (`node --import ./bench/count-queries.mjs`):
// counts statements sent to Postgres through pg (one statement = one round trip)
// and answers the bench over the IPC channel. The service itself is not changed;
// GET /metrics `tfa_db_queries_total` is preferred when the service exposes it.
import { createRequire } from 'node:module';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const require = createRequire(pathToFileURL(`${process.cwd()}/package.json`));
const pg = require('pg');
let queries = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  queries++;
  return query.apply(this, args);
};

if (process.send) {
  process.on('message', (msg) => {
    if (msg === 'bench:queries') process.send({ queries });
  });
  // The channel must not keep a stopping server alive.
  process.channel?.unref();
}
