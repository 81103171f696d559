import type { QueryCreator } from 'kysely';
import type { DB } from './types.js';

/**
 * A query creator (`db.with(name, …)`) whose statements also run a
 * data-modifying CTE, typed as the plain one: the CTE's name is never read, the
 * change only rides along in the same round trip (and the same implicit
 * transaction) as the statement it is attached to.
 */
export function withStatement(qc: unknown): QueryCreator<DB> {
  return qc as QueryCreator<DB>;
}
