import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Insertable, Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import type { AuditEventsTable, DB } from '../db/types.js';
import { createSessionSigner } from './session-signer.js';
import { KyselySessionStore, type CachedRow, type SessionUser } from '../db/session-store.js';
import type { ChangeFeed } from '../db/change-feed.js';
import { SessionCache } from '../db/session-cache.js';

export const SESSION_COOKIE = 'session';

/** What a session holds. Signed-in and pending states are mutually exclusive. */
declare module 'fastify' {
  interface Session {
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
    _user?: SessionUser;
    [key: string]: unknown;
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

export async function registerSessions(app: FastifyInstance, deps: SessionDeps): Promise<void> {
  const { config, db, clock, hmac } = deps;
  await app.register(fastifyCookie);
  const store = new KyselySessionStore(db, {
    // Memoized: a session's requests all look up the same row key.
    hashId: hmac.memoized('session-id'),
    clock,
    lifetimeSeconds: config.SECURITY_SESSION_LIFETIME,
    cookieName: SESSION_COOKIE,
    cache: sessionCache(app, deps),
  });

  // @fastify/session refuses to write a Secure cookie unless it sees HTTPS itself,
  // which silently breaks plain-HTTP hops behind a TLS proxy and inject(). We let it
  // write the cookie as non-secure and add the Secure attribute ourselves.
  if (cookiesSecure(config)) {
    app.addHook('onRequest', (_request, reply, done) => {
      const setCookie = reply.setCookie;
      reply.setCookie = function (name, value, options) {
        return setCookie.call(this, name, value, name === SESSION_COOKIE ? { ...options, secure: true } : options);
      };
      done();
    });
  }

  await app.register(fastifySession, {
    // Same cookies as @fastify/cookie's Signer, one HMAC less per request (session-signer.ts).
    secret: createSessionSigner(hmac.hash('session-cookie-signer', config.SECRET_KEY)),
    cookieName: SESSION_COOKIE,
    // Defaults write a row on every request; we save only when something changed.
    saveUninitialized: false,
    rolling: false,
    cookie: {
      path: '/',
      httpOnly: true,
      secure: false,
      sameSite: config.SESSION_COOKIE_SAMESITE,
    },
    store,
  });
  // After @fastify/session's own onSend (the save): a rotated-away row whose successor was not saved still goes.
  app.addHook('onSend', (request, _reply, payload, done) => {
    const settling = store.settle(request);
    if (settling) settling.then(() => done(null, payload), done);
    else done(null, payload);
  });
}

function storeOf(request: FastifyRequest): KyselySessionStore {
  const store: unknown = request.sessionStore;
  if (!(store instanceof KyselySessionStore)) throw new Error('sessions are not registered with the Kysely store');
  return store;
}

/**
 * Gives the request a new, empty session under a new id (docs/architecture.md, Sessions: rotated on
 * every privilege change); the old row is deleted by the write of the new one.
 */
export function rotateSession(request: FastifyRequest): Promise<void> {
  return storeOf(request).rotate(request);
}

/** Ends the request's session; `audit` (the signout row) is written by the same statement. */
export function endSession(request: FastifyRequest, audit: Insertable<AuditEventsTable> | null): Promise<void> {
  return storeOf(request).end(request, audit);
}
