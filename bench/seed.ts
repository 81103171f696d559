/**
 * Bench data: a fresh database, users made through the API (as a client would,
 * 2FA included when the service has it), and the large data set made by SQL.
 */
import pg from 'pg';
import { totpCode } from '../src/two-factor/factors/totp.js';
import { Client } from './http.js';

export interface BenchUser {
  email: string;
  password: string;
  /** base32 TOTP secret when an authenticator is set up. */
  secret: string | null;
  /** Last TOTP step accepted for this user (replay protection refuses it and earlier). */
  lastStep: number;
  /** Session cookie from registering (session scenario). */
  cookie: string;
}

export const PASSWORD = 'bench password 0123456789';

export async function recreateDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

export const stepOf = (ms: number): number => Math.floor(ms / 1000 / 30);

/** Registers users in parallel; with `authenticator`, sets it up as openapi.yaml describes. */
export async function registerUsers(
  url: string,
  opts: { prefix: string; count: number; authenticator: boolean; parallel?: number },
): Promise<{ users: BenchUser[]; twoFactor: boolean }> {
  const base = new URL(url);
  const users: BenchUser[] = [];
  let twoFactor = opts.authenticator;
  let next = 0;
  const clients: Client[] = [];
  const worker = async (): Promise<void> => {
    const c = new Client(base);
    clients.push(c);
    while (next < opts.count) {
      const i = next++;
      c.clear();
      const email = `${opts.prefix}-${i}@bench.example`;
      const reg = await c.request('POST', '/register', { email, password: PASSWORD });
      if (reg.status !== 200) throw new Error(`register ${email}: ${reg.status} ${JSON.stringify(reg.body)}`);
      const user: BenchUser = { email, password: PASSWORD, secret: null, lastStep: -1, cookie: c.sessionCookie };
      if (twoFactor) {
        const setup = await c.request('POST', '/tf-setup', { setup: 'authenticator' });
        if (setup.status === 404) {
          twoFactor = false;
        } else {
          // Flask-Security-Too (bench/compare/) gives the key only grouped, as `tf_authr_key`.
          const r = setup.body.response;
          const grouped = typeof r?.tf_authr_key === 'string' ? r.tf_authr_key.replace(/[-\s]/g, '') : undefined;
          const secret = r?.tf_authr_b32key ?? grouped;
          if (setup.status !== 200 || typeof secret !== 'string')
            throw new Error(`tf-setup ${email}: ${setup.status} ${JSON.stringify(setup.body)}`);
          const now = Date.now();
          const ok = await c.request('POST', '/tf-validate', { code: await totpCode(secret, new Date(now)) });
          if (ok.status !== 200)
            throw new Error(`tf-validate (setup) ${email}: ${ok.status} ${JSON.stringify(ok.body)}`);
          user.secret = secret;
          user.lastStep = stepOf(now);
          await c.request('POST', '/logout', {});
          user.cookie = '';
        }
      }
      users.push(user);
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 8 }, worker));
  for (const c of clients) c.close();
  return { users, twoFactor };
}

/**
 * 100,000 users and 1,000,000 live session rows, by SQL: what a service in use
 * for a while holds. Ids look like the service's (64 hex digits); every user
 * has the same (real) argon2id hash, which costs nothing to verify differently.
 */
export async function seedLarge(
  databaseUrl: string,
  opts: { users: number; sessions: number; passwordHash: string },
): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  const started = performance.now();
  try {
    await c.query(
      `INSERT INTO users (email, email_normalized, password, fs_uniquifier, confirmed_at)
       SELECT 'filler-' || g || '@bench.example', 'filler-' || g || '@bench.example', $1,
              encode(sha256(('fsu-' || g)::bytea), 'hex'), now()
       FROM generate_series(1, $2::int) AS g`,
      [opts.passwordHash, opts.users],
    );
    await c.query(
      `INSERT INTO sessions (id_hash, user_id, data, expires_at)
       SELECT encode(sha256(('sid-' || g)::bytea), 'hex'), u.id,
              jsonb_build_object('userId', u.id, 'fsUniquifier', u.fs_uniquifier, 'authAt', 1700000000000,
                                 'authnMethods', jsonb_build_array('password'), 'remember', false,
                                 'cookie', jsonb_build_object('path', '/', 'httpOnly', true, 'sameSite', 'lax')),
              now() + interval '1 day'
       FROM generate_series(1, $1::int) AS g
       JOIN users u ON u.email_normalized = 'filler-' || (1 + (g::bigint * 7919) % $2::int) || '@bench.example'`,
      [opts.sessions, opts.users],
    );
    await c.query('VACUUM ANALYZE users');
    await c.query('VACUUM ANALYZE sessions');
    return (performance.now() - started) / 1000;
  } finally {
    await c.end();
  }
}

export async function tableSizes(databaseUrl: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const r = await c.query<{ t: string; n: string }>(
      `SELECT 'users' AS t, count(*)::text AS n FROM users UNION ALL SELECT 'sessions', count(*)::text FROM sessions
       UNION ALL SELECT 'audit_events', count(*)::text FROM audit_events`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.t, Number(row.n)]));
  } finally {
    await c.end();
  }
}

/**
 * The second-factor failures charged to all users so far (validate-wrong checks
 * they are exact), or null once any user was locked (a lock resets the count).
 */
export async function failureCounters(databaseUrl: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string; locks: string }>(
      'SELECT coalesce(sum(tf_failures), 0)::text AS n, coalesce(sum(tf_lockouts), 0)::text AS locks FROM users',
    );
    return rows[0]!.locks === '0' ? Number(rows[0]!.n) : null;
  } finally {
    await client.end();
  }
}

/** VACUUM ANALYZE of the whole bench database (between scenarios). */
/**
 * Waits until the service has delivered every event of the outbox (the security
 * e-mails of seeding: one per second factor set up). Delivery runs in the
 * background of the measured process; a backlog left from seeding would bill its
 * work to the next scenario. Returns the seconds waited.
 */
export async function eventsDrained(databaseUrl: string, maxSeconds = 300): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const start = performance.now();
  try {
    for (;;) {
      const { rows } = await client.query<{ waiting: boolean }>(
        `select exists (select 1 from event_outbox where not fanned_out)
             or exists (select 1 from event_deliveries where state = 'pending') as waiting`,
      );
      const waited = (performance.now() - start) / 1000;
      if (!rows[0]!.waiting || waited > maxSeconds) return waited;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await client.end();
  }
}

export async function vacuum(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}
