import type { AuditContext } from './audit/audit.js';

/**
 * Who is calling, as the services see it: no Fastify request, only what the
 * rules read and the one session field they may change (the pending sign-in or
 * setup it points at). http/caller.ts builds it from a request; everything else
 * a service decides (a new session id, the cached user, a cookie) comes back in
 * its outcome and is applied by the handler.
 */
export interface Caller {
  /** The signed-in user, or null for an anonymous caller (maybe with a pending sign-in). */
  readonly auth: { readonly userId: number; readonly authAt: Date } | null;
  /** Where the request came from, for audit rows. */
  readonly audit: AuditContext;
  /** A cookie the caller sent (e.g. a remembered device's tf_validity). */
  cookie(name: string): string | undefined;
  /** The session's pending sign-in or setup (a tf_pending row id). */
  pendingId(): string | undefined;
  setPendingId(id: string | undefined): void;
  /** A new, empty session under a new id: every privilege change does this first. */
  rotateSession(): Promise<void>;
}
