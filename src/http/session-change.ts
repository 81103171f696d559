import type { FastifyRequest } from 'fastify';

/** What the error handler needs of an @fastify/session session (absent before the session hook ran). */
interface PendingSession {
  sessionId?: string;
  encryptedSessionId?: string;
  isModified?: () => boolean;
  save?: () => Promise<void>;
}

function sessionOf(request: FastifyRequest): PendingSession | undefined {
  return (request as { session?: PendingSession }).session ?? undefined;
}

/**
 * Writes the request's session change now, as @fastify/session's onSend hook
 * would (same condition: a modified session with an id). Its hook then finds
 * nothing to write and only sets the cookie.
 */
export async function saveSessionChange(request: FastifyRequest): Promise<void> {
  const session = sessionOf(request);
  if (!session?.sessionId || !session.encryptedSessionId || session.isModified?.() !== true || !session.save) return;
  await session.save();
}

/**
 * Forgets the request's session change: no row is written, no cookie set, and
 * the store has nothing to settle (both onSend hooks skip a request without a session).
 */
export function discardSessionChange(request: FastifyRequest): void {
  if (sessionOf(request)) (request as { session?: unknown }).session = undefined;
}
