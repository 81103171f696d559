import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest, Session } from 'fastify';
import type { Insertable, Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { AuditEventsTable, DB } from '../db/types.js';
import { createSessionSigner } from './session-signer.js';
import { KyselySessionStore, type CachedRow } from '../db/session-store.js';
import type { ChangeFeed } from '../db/change-feed.js';
import { SessionCache } from '../db/session-cache.js';
import { SessionControl } from './session-control.js';
import './request-session.js';

export const SESSION_COOKIE = 'session';

declare module 'fastify' {
  interface FastifyInstance {
    /** The sessions plugin's own handle (registerSessions); routes use the functions below. */
    sessionControl: SessionControl;
  }
}

export interface SessionDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  hmac: KeyedHasher;
  /** The database's change notices: the session cache is evicted by them and works only while they flow. */
  changes: ChangeFeed;
}

/** Cached sessions at most: ~1 KB each, so the cache stays within ~10 MB of the RSS budget (BENCHMARKS.md). */
const SESSION_CACHE_ENTRIES = 10_000;

function sessionCache(app: FastifyInstance, deps: SessionDeps): SessionCache<CachedRow> | undefined {
  const maxAgeMs = deps.config.SESSION_CACHE_MAX_AGE * 1000;
  if (maxAgeMs === 0) return undefined;
  const cache = new SessionCache<CachedRow>({ maxAgeMs, maxEntries: SESSION_CACHE_ENTRIES });
  const unsubscribe = deps.changes.subscribe((notice) => {
    if (notice.kind === 'changed') cache.invalidate(notice.payload);
    else if (notice.kind === 'live') cache.enable();
    else cache.disable();
  });
  app.addHook('onClose', async () => {
    unsubscribe();
    cache.disable();
  });
  return cache;
}

/** Secure unless configured off; SameSite=None cookies are always Secure (docs/architecture.md, Sessions). */
export function cookiesSecure(config: Config): boolean {
  return config.SESSION_COOKIE_SECURE || config.SESSION_COOKIE_SAMESITE === 'none';
}

/**
 * Sessions in Postgres behind a signed cookie (docs/architecture.md, Sessions).
 * Our own hooks rather than @fastify/session: a request pays one JSON.stringify
 * to learn whether its session changed, and a request without a cookie pays
 * nothing until it puts something in its session (BENCHMARKS.md).
 */
export async function registerSessions(app: FastifyInstance, deps: SessionDeps): Promise<void> {
  const { config, db, clock, hmac } = deps;
  await app.register(fastifyCookie);
  const store = new KyselySessionStore(db, {
    // Memoized: a session's requests all look up the same row key.
    hashId: hmac.memoized('session-id'),
    clock,
    cache: sessionCache(app, deps),
  });
  const control = new SessionControl(
    store,
    // Same cookies as @fastify/cookie's Signer, at less cost (session-signer.ts).
    createSessionSigner(hmac.hash('session-cookie-signer', config.SECRET_KEY)),
    clock,
    {
      name: SESSION_COOKIE,
      sameSite: config.SESSION_COOKIE_SAMESITE,
      secure: cookiesSecure(config),
      lifetimeSeconds: config.SECURITY_SESSION_LIFETIME,
    },
  );
  app.decorate('sessionControl', control);
  app.decorateRequest('session', null as unknown as Session);
  app.addHook('onRequest', (request, _reply, done) => control.open(request, done));
  app.addHook('onSend', (request, reply, payload, done) =>
    control.close(request, reply, (err) => (err ? done(err) : done(null, payload))),
  );
}

/**
 * Gives the request a new, empty session under a new id (docs/architecture.md, Sessions: rotated on
 * every privilege change); the old row is deleted by the write of the new one.
 */
export async function rotateSession(request: FastifyRequest): Promise<void> {
  request.server.sessionControl.rotate(request);
}

/** Ends the request's session; `audit` (the signout row) is written by the same statement. */
export function endSession(request: FastifyRequest, audit: Insertable<AuditEventsTable> | null): Promise<void> {
  return request.server.sessionControl.end(request, audit);
}

/**
 * Writes the request's session change now (the error handler, so that a failed
 * write becomes its answer). The onSend hook then only sets the cookie.
 */
export async function saveSessionChange(request: FastifyRequest): Promise<void> {
  // No session: an app without sessions (the operator listener), or an error before the sessions hook ran.
  if (request.session) await request.server.sessionControl.save(request);
}

/** Forgets the request's session change: no row is written, no cookie set, no replaced row deleted. */
export function discardSessionChange(request: FastifyRequest): void {
  request.session = undefined as unknown as Session;
}
