import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { ping } from '../db/database.js';
import type { DB } from '../db/types.js';
import { migrationsApplied } from '../db/migrate.js';

export interface Lifecycle {
  /** Set when SIGTERM arrives: /readyz turns 503 so the balancer stops sending traffic. */
  draining: boolean;
}

/** Operations endpoints answer plain JSON, not the envelope (openapi.yaml). */
export async function healthRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<DB>; lifecycle: Lifecycle },
): Promise<void> {
  let migrated = false;
  app.get('/healthz', { config: { envelope: false } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { envelope: false } }, async (_request, reply) => {
    try {
      if (deps.lifecycle.draining) throw new Error('draining');
      await ping(deps.db);
      migrated ||= await migrationsApplied(deps.db as Kysely<unknown>);
      if (!migrated) throw new Error('migrations pending');
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
