import { ValidationError } from '../errors.js';
import { readBody } from '../http/input.js';
import type { Proof } from './factors/factor.js';
import { normalizeCodeInput } from './factors/otp-code.js';

/**
 * The proof of a second-factor step, read once from the body: `code` is
 * REQUIRED when absent and API_ERROR for a wrong type; any string or number is
 * a guess (one that is not six digits is a wrong one, charged like any other).
 */
export function readProof(body: unknown): Proof {
  const raw = readBody(body).raw('code');
  if (raw === undefined || raw === null || raw === '') throw new ValidationError([{ field: 'code', key: 'REQUIRED' }]);
  if (typeof raw !== 'string' && typeof raw !== 'number')
    throw new ValidationError([{ field: 'code', key: 'API_ERROR' }]);
  if (typeof raw === 'string' && raw.length > 64) throw new ValidationError([{ field: 'code', key: 'API_ERROR' }]);
  return { kind: 'code', code: normalizeCodeInput(raw) };
}
