import { randomBytes } from 'node:crypto';
import type { Session } from 'fastify';
import type { SessionData, SessionUser } from '../db/session-store.js';

export type { SessionData } from '../db/session-store.js';

declare module 'fastify' {
  interface Session extends SessionData {
    /** The session's id (its cookie carries it signed; its row is keyed by a keyed hash of it). */
    readonly sessionId: string;
    /** The signed-in user, loaded with the session (never written to the row). */
    _user?: SessionUser;
  }
  interface FastifyRequest {
    /** Null before the sessions hook ran, and after the session ended. */
    session: Session;
  }
}

const STATE = Symbol('session state');

interface SessionState {
  /** Created on first use: most requests without a cookie never need one. */
  id: string | undefined;
  /** The JSON of the data as loaded ('{}' for a new session): the session is modified when its JSON differs. */
  snapshot: string;
  /** Its row existed when the request came (it was loaded from the request's cookie). */
  stored: boolean;
  /** The key hash of the row this session replaces (rotation); deleted when this one is written, or at the end. */
  replaces: string | undefined;
  /** Written during this request (the error handler writes before answering). */
  saved: boolean;
  user: SessionUser | undefined;
}

/** 24 random bytes, base64url: the same ids as sessions had before (192 bits). */
function newSessionId(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * A request's session: its data as own properties (what the row stores, so
 * `JSON.stringify` of it is the row's data), and its bookkeeping behind a symbol
 * and accessors, which JSON does not see. Whether it changed is decided by
 * comparing that JSON with the one it was loaded from: one `JSON.stringify` per
 * request that has a session, where @fastify/session hashed a stable
 * serialization twice (BENCHMARKS.md).
 */
class RequestSession {
  declare [STATE]: SessionState;

  constructor(data: SessionData, state: SessionState) {
    // A symbol key: JSON.stringify skips it, so the row's data is the session's own properties.
    this[STATE] = state;
    Object.assign(this, data);
  }

  get sessionId(): string {
    return (this[STATE].id ??= newSessionId());
  }

  get _user(): SessionUser | undefined {
    return this[STATE].user;
  }

  set _user(user: SessionUser | undefined) {
    this[STATE].user = user;
  }
}

function stateOf(session: object): SessionState {
  return (session as RequestSession)[STATE];
}

/** A new, empty session; it gets an id and a row only if something is put in it. */
export function newSession(replaces?: string): Session {
  const state: SessionState = { id: undefined, snapshot: '{}', stored: false, replaces, saved: false, user: undefined };
  return new RequestSession({}, state) as unknown as Session;
}

/** The session a cookie named, as its row holds it. `json` is that data's JSON, as read. */
export function loadedSession(
  id: string,
  loaded: { data: SessionData; json: string; user: SessionUser | undefined },
): Session {
  const state: SessionState = {
    id,
    snapshot: loaded.json,
    stored: true,
    replaces: undefined,
    saved: false,
    user: loaded.user,
  };
  return new RequestSession(loaded.data, state) as unknown as Session;
}

/** The data to write, or null when the session is as it was loaded (or was already written). */
export function pendingWrite(session: object): string | null {
  const state = stateOf(session);
  if (state.saved) return null;
  const json = JSON.stringify(session);
  return json === state.snapshot ? null : json;
}

export function wasStored(session: object): boolean {
  return stateOf(session).stored;
}

export function wasSaved(session: object): boolean {
  return stateOf(session).saved;
}

/** The row hash this session replaces, if any. */
export function replacedRow(session: object): string | undefined {
  return stateOf(session).replaces;
}

/** The session was written (with `json` as its data): nothing more to write, and nothing left to replace. */
export function markSaved(session: object, json: string): void {
  const state = stateOf(session);
  state.saved = true;
  state.snapshot = json;
  state.replaces = undefined;
}

/** The replaced row was deleted on its own. */
export function forgetReplaced(session: object): void {
  stateOf(session).replaces = undefined;
}

/** The cookie and row of a remembered session live `maxAgeMs` from `now`; others end with the browser session. */
export function rememberFor(session: SessionData, maxAgeMs: number, now: Date): void {
  session.cookie = { originalMaxAge: maxAgeMs, expires: new Date(now.getTime() + maxAgeMs).toISOString() };
}

/**
 * When a session's cookie and row expire if written at `now`, or null for a
 * browser-session cookie. A remembered session (`rememberFor`) is extended to
 * its max age from each write, as before this plugin; its data says so.
 */
export function extendRemembered(session: SessionData, now: Date): Date | null {
  const cookie = session.cookie;
  if (!cookie) return null;
  const maxAge = cookie.originalMaxAge;
  if (typeof maxAge === 'number' && maxAge > 0) {
    const at = new Date(now.getTime() + maxAge);
    session.cookie = { ...cookie, expires: at.toISOString() };
    return at;
  }
  if (cookie.expires === null || cookie.expires === undefined) return null;
  const at = new Date(cookie.expires);
  return Number.isNaN(at.getTime()) ? null : at;
}
