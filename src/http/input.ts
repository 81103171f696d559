import { ValidationError, type ErrorKey } from '../errors.js';

/**
 * Reading request bodies by hand instead of Fastify's Ajv: Ajv's defaults
 * coerce types (a number becomes a string), but openapi.yaml (wire conventions) wants a wrong type to
 * be 400 API_ERROR on that field, and a missing one REQUIRED.
 */
export type Body = Record<string, unknown>;

export function asBody(body: unknown): Body {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError([{ field: '', key: 'API_ERROR' }]);
  return body as Body;
}

interface Problem {
  field: string;
  key: ErrorKey;
}

/** Collects field problems so one answer lists them all. */
export class BodyReader {
  private problems: Problem[] = [];
  constructor(private readonly body: Body) {}

  string(field: string, opts: { max?: number } = {}): string {
    const v = this.optionalString(field, opts);
    if (v === undefined) {
      if (!this.problems.some((p) => p.field === field)) this.problems.push({ field, key: 'REQUIRED' });
      return '';
    }
    return v;
  }

  optionalString(field: string, opts: { max?: number } = {}): string | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    // NUL can't be stored in Postgres text and has no place in any field of this API.
    if (typeof v !== 'string' || (opts.max !== undefined && v.length > opts.max) || v.includes('\u0000')) {
      this.problems.push({ field, key: 'API_ERROR' });
      return undefined;
    }
    if (v.trim() === '') return undefined;
    return v;
  }

  boolean(field: string, def = false): boolean {
    const v = this.body[field];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.problems.push({ field, key: 'API_ERROR' });
      return def;
    }
    return v;
  }

  /** Lets a feature add its own check (e.g. a 6-digit code sent as a number). */
  raw(field: string): unknown {
    return this.body[field];
  }

  fail(field: string, key: ErrorKey): void {
    this.problems.push({ field, key });
  }

  /** Throws every problem found so far as one ValidationError. */
  done(): void {
    if (this.problems.length) throw new ValidationError(this.problems);
  }
}

export function readBody(body: unknown): BodyReader {
  return new BodyReader(asBody(body));
}

/** `?include_auth_token` is a flag: present (any value but "false"/"0") means yes. */
export function wantsAuthToken(query: unknown): boolean {
  const q = query as Record<string, unknown> | undefined;
  if (!q || !('include_auth_token' in q)) return false;
  const v = String(q.include_auth_token).toLowerCase();
  return v !== 'false' && v !== '0';
}
