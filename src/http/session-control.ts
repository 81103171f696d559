import type { FastifyReply, FastifyRequest, Session } from 'fastify';
import type { Insertable } from 'kysely';
import type { Clock } from '../clock.js';
import type { KyselySessionStore } from '../db/session-store.js';
import type { AuditEventsTable } from '../db/types.js';
import type { CookieSigner } from './session-signer.js';
import {
  extendRemembered,
  forgetReplaced,
  loadedSession,
  markSaved,
  newSession,
  pendingWrite,
  replacedRow,
  wasSaved,
  wasStored,
} from './request-session.js';

export interface SessionCookieOptions {
  name: string;
  sameSite: 'lax' | 'strict' | 'none';
  secure: boolean;
  /** Server-side lifetime of a session with a browser-session cookie, in seconds. */
  lifetimeSeconds: number;
}

type Done = (err?: Error) => void;

/**
 * A request's session from its cookie to its answer (docs/architecture.md,
 * Sessions): loaded in `open`, written at the end only if its data changed,
 * rotated without a write of its own, ended with one statement.
 */
export class SessionControl {
  constructor(
    private readonly store: KyselySessionStore,
    private readonly signer: CookieSigner,
    private readonly clock: Clock,
    private readonly cookie: SessionCookieOptions,
  ) {}

  /** onRequest: the session the cookie names, or a new empty one. */
  open(request: FastifyRequest, done: Done): void {
    const presented = request.cookies[this.cookie.name];
    const id = presented ? this.signer.unsign(presented) : null;
    if (id === null) {
      request.session = newSession();
      return done();
    }
    this.store.get(id, (err, loaded) => {
      if (err) return done(err as Error);
      request.session = loaded ? loadedSession(id, loaded) : newSession();
      done();
    });
  }

  /**
   * A new, empty session under a new id. The old row, if there is one, is
   * deleted by the statement that writes the new session, or at the end of the
   * request if nothing is put in it (`close`).
   */
  rotate(request: FastifyRequest): void {
    const old = request.session;
    const replaces = wasStored(old) || wasSaved(old) ? this.store.hashId(old.sessionId) : replacedRow(old);
    request.session = newSession(replaces);
  }

  /** Deletes the session's row (and a row it replaces); `audit` is written by the same statement. */
  async end(request: FastifyRequest, audit: Insertable<AuditEventsTable> | null): Promise<void> {
    const session = request.session;
    const replaced = replacedRow(session);
    await this.store.remove(session.sessionId, audit);
    if (replaced !== undefined) await this.store.removeRow(replaced);
    request.session = null as unknown as Session;
  }

  /** Writes the session now if its data changed (the error handler's, before it answers); otherwise nothing. */
  async save(request: FastifyRequest): Promise<void> {
    const session = request.session as Session | null | undefined;
    if (session && pendingWrite(session) !== null) await this.write(session);
  }

  /** onSend: writes what changed and sets the cookie; clears a cookie that names no live session. */
  close(request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const session = request.session as Session | null | undefined;
    // Ended (POST /logout clears the cookie itself), or discarded by the error handler.
    if (!session) return done();
    if (pendingWrite(session) === null) return this.settle(request, reply, session, done);
    this.write(session).then(() => this.settle(request, reply, session, done), done);
  }

  /** Writes a changed session's row; a remembered one is extended first, so its JSON is taken after that. */
  private async write(session: Session): Promise<void> {
    const now = this.clock.now();
    const expires = extendRemembered(session, now) ?? new Date(now.getTime() + this.cookie.lifetimeSeconds * 1000);
    const json = JSON.stringify(session);
    const userId = typeof session.userId === 'number' ? session.userId : null;
    await this.store.write(session.sessionId, { json, userId, expires }, replacedRow(session));
    markSaved(session, json);
  }

  private settle(request: FastifyRequest, reply: FastifyReply, session: Session, done: Done): void {
    const presented = request.cookies[this.cookie.name];
    if (wasSaved(session)) {
      this.setCookie(reply, session, wasStored(session) ? presented : undefined);
      return done();
    }
    // The cookie named a row that is not this session: void, expired, or rotated away.
    if (presented && !wasStored(session)) reply.clearCookie(this.cookie.name, { path: '/' });
    const replaced = replacedRow(session);
    if (replaced === undefined) return done();
    forgetReplaced(session);
    this.store.removeRow(replaced).then(() => done(), done);
  }

  private setCookie(reply: FastifyReply, session: Session, presented: string | undefined): void {
    const expires = session.cookie?.expires;
    reply.setCookie(this.cookie.name, presented ?? this.signer.sign(session.sessionId), {
      path: '/',
      httpOnly: true,
      sameSite: this.cookie.sameSite,
      secure: this.cookie.secure,
      ...(expires ? { expires: new Date(expires) } : {}),
    });
  }
}
