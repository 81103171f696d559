import type { FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import type { Caller } from '../caller.js';
import { rotateSession } from './session.js';

/** The Caller of a request: the services' view of it (src/caller.ts). */
export function callerOf(request: FastifyRequest): Caller {
  const auth = request.auth;
  return {
    auth: auth ? { userId: auth.user.id, authAt: auth.authAt } : null,
    audit: auditContext(request),
    cookie: (name) => request.cookies?.[name],
    pendingId: () => request.session?.pendingId,
    setPendingId(id) {
      if (id === undefined) delete request.session.pendingId;
      else request.session.pendingId = id;
    },
    rotateSession: () => rotateSession(request),
  };
}
