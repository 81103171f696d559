/**
 * Parsers for environment values. Each returns the typed value or throws a
 * ConfigProblem whose message names the variable, so start-up can report
 * every problem at once (one clear line each) instead of the first only.
 */
export class ConfigProblem extends Error {}

export interface Field<T> {
  parse(raw: string | undefined, name: string): T;
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

/** A duration in seconds; `min` keeps nonsense like a 0-second session out. */
export function duration(def: number, min = 0): Field<number> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return def;
      const secs = parseDurationSeconds(raw);
      if (secs === null) throw new ConfigProblem(`${name} must be seconds or "N unit" like "30 days" (got "${raw}")`);
      if (secs < min) throw new ConfigProblem(`${name} must be at least ${min} seconds (got "${raw}")`);
      return secs;
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
