import type { Kysely } from 'kysely';
import type { BaseLogger } from 'pino';
import type { DB } from '../db/types.js';
import { leaderAlive, releaseLeaderLock, tryLeaderLock } from './events.repository.js';

/**
 * Exactly one delivery leader across instances (docs/architecture.md, Events
 * out). On Postgres: a session-level advisory lock held on a connection of its
 * own for as long as this instance leads; the connection is checked before
 * every round, and a lost one (and with it the lock) is given up and taken
 * again when free. On PGlite the data-folder lock already makes this process
 * the only one, so it always leads.
 */
export interface Leadership {
  /** True when this instance leads now (taking the lock if it is free). */
  ensure(): Promise<boolean>;
  release(): Promise<void>;
}

export const soleLeader: Leadership = { ensure: async () => true, release: async () => {} };

interface Held {
  conn: Kysely<DB>;
  letGo: () => void;
  ended: Promise<void>;
}

export function advisoryLeadership(db: Kysely<DB>, log: BaseLogger): Leadership {
  let held: Held | undefined;

  const acquire = (): Promise<boolean> =>
    new Promise<boolean>((resolve, reject) => {
      let letGo!: () => void;
      const released = new Promise<void>((r) => (letGo = r));
      // The connection stays checked out of the pool until `released`: the lock lives as long as it does.
      const ended = db.connection().execute(async (conn) => {
        if (!(await tryLeaderLock(conn))) return resolve(false);
        held = { conn, letGo, ended };
        resolve(true);
        await released;
        await releaseLeaderLock(conn).catch(() => {});
      });
      ended.catch((err: unknown) => {
        held = undefined;
        reject(err as Error);
      });
    });

  return {
    async ensure() {
      if (held) {
        try {
          await leaderAlive(held.conn);
          return true;
        } catch (err) {
          log.warn({ err }, 'event delivery: the leader connection was lost; taking the lock again');
          const lost = held;
          held = undefined;
          lost.letGo();
          await lost.ended.catch(() => {});
        }
      }
      return acquire();
    },
    async release() {
      const h = held;
      held = undefined;
      if (!h) return;
      h.letGo();
      await h.ended.catch(() => {});
    },
  };
}
