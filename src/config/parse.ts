/**
 * Parsers for environment values. Each returns the typed value or throws a
 * ConfigProblem whose message names the variable, so start-up can report
 * every problem at once (one clear line each) instead of the first only.
 */
export class ConfigProblem extends Error {}

export interface Field<T> {
  parse(raw: string | undefined, name: string): T;
  /** A start-up warning for a value that is valid but unusual, or null. */
  unusual?(value: T, name: string): string | null;
}

const UNITS: Record<string, number> = {
  second: 1,
  seconds: 1,
  sec: 1,
  secs: 1,
  s: 1,
  minute: 60,
  minutes: 60,
  min: 60,
  mins: 60,
  m: 60,
  hour: 3600,
  hours: 3600,
  h: 3600,
  day: 86400,
  days: 86400,
  d: 86400,
  week: 604800,
  weeks: 604800,
  w: 604800,
};

/** Seconds from "300", "30 days", "12 hours", "5 minutes". */
export function parseDurationSeconds(raw: string): number | null {
  const text = raw.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(\d+)\s*([a-z]+)$/.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2] ?? ''];
  return unit === undefined ? null : Number(m[1]) * unit;
}

export function str(def: string): Field<string>;
export function str(def?: undefined): Field<string | undefined>;
export function str(def?: string): Field<string | undefined> {
  return { parse: (raw) => (raw === undefined || raw === '' ? def : raw) };
}

export function oneOf<const T extends string>(values: readonly T[], def: T): Field<T> {
  return {
    parse(raw, name) {
      const v = raw === undefined || raw === '' ? def : raw.trim().toLowerCase();
      if (!(values as readonly string[]).includes(v)) {
        throw new ConfigProblem(`${name} must be one of ${values.join(', ')} (got "${raw}")`);
      }
      return v as T;
    },
  };
}

export function int(def: number, min = 0, max = Number.MAX_SAFE_INTEGER): Field<number> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return def;
      if (!/^\d+$/.test(raw.trim())) throw new ConfigProblem(`${name} must be a whole number (got "${raw}")`);
      const n = Number(raw.trim());
      if (n < min || n > max) throw new ConfigProblem(`${name} must be between ${min} and ${max} (got ${n})`);
      return n;
    },
  };
}

export function bool(def: boolean): Field<boolean> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return def;
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigProblem(`${name} must be true or false (got "${raw}")`);
    },
  };
}

// The longest duration any setting takes: longer is surely a typo, and dates
// computed from it (cookie expiry, lockout end) would leave the range of a timestamp.
export const MAX_DURATION_SECONDS = 100 * 365 * 86400;

export interface DurationLimits {
  /** 1 unless 0 has a meaning (e.g. "always validate"); no hidden floors beyond that. */
  min?: number;
  max?: number;
  /** Below this a warning is logged at start (valid, e.g. for tests of expiry, but rarely meant). */
  unusualBelow?: number;
}

/** A duration in seconds: any positive value (README, "Limits of each setting"). */
export function duration(def: number, limits: DurationLimits = {}): Field<number> {
  const { min = 1, max = MAX_DURATION_SECONDS, unusualBelow = 0 } = limits;
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return def;
      const secs = parseDurationSeconds(raw);
      if (secs === null) throw new ConfigProblem(`${name} must be seconds or "N unit" like "30 days" (got "${raw}")`);
      if (secs < min || secs > max) {
        const range = min === 0 ? `from 0 to ${max} seconds` : `positive, at most ${max} seconds`;
        throw new ConfigProblem(`${name} must be ${range} (got "${raw}")`);
      }
      return secs;
    },
    unusual(value, name) {
      return value > 0 && value < unusualBelow
        ? `${name} is ${value} seconds, unusually short (under ${unusualBelow}); fine for tests of expiry, rarely meant in production`
        : null;
    },
  };
}

export function list<const T extends string>(allowed: readonly T[] | null, def: readonly T[]): Field<readonly T[]> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw.trim() === '') return def;
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (allowed) {
        const bad = items.filter((i) => !(allowed as readonly string[]).includes(i.toLowerCase()));
        if (bad.length)
          throw new ConfigProblem(`${name} has unknown values ${bad.join(', ')}; allowed: ${allowed.join(', ')}`);
        return items.map((i) => i.toLowerCase()) as T[];
      }
      return items as T[];
    },
  };
}

export function json<T>(check: (v: unknown) => string | null): Field<T | undefined> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw.trim() === '') return undefined;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw new ConfigProblem(`${name} must be JSON`);
      }
      const problem = check(value);
      if (problem) throw new ConfigProblem(`${name} ${problem}`);
      return value as T;
    },
  };
}

export function url(): Field<string | undefined> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return undefined;
      try {
        new URL(raw);
      } catch {
        throw new ConfigProblem(`${name} must be a URL (got "${raw}")`);
      }
      return raw;
    },
  };
}

/** A whole number, or undefined when unset (a feature that is off until given a value, e.g. ADMIN_PORT). */
export function optionalInt(min = 0, max = Number.MAX_SAFE_INTEGER): Field<number | undefined> {
  const field = int(0, min, max);
  return { parse: (raw, name) => (raw === undefined || raw.trim() === '' ? undefined : field.parse(raw, name)) };
}
