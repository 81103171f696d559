import { ConfigProblem, type Field } from './parse.js';

/**
 * Parsers of the two-factor policy settings (README, "Two-factor policy"):
 * role names and the methods each role may use. Kept apart from schema.ts, which
 * only lists the settings.
 */

/** Role names as stored in `roles.name` (varchar(80)); letters, digits and `._:-`, no spaces. */
const ROLE_NAME = /^[A-Za-z0-9._:-]{1,80}$/;

function checkRole(name: string, role: string): string {
  if (!ROLE_NAME.test(role)) {
    throw new ConfigProblem(`${name} has an invalid role name "${role}" (1-80 letters, digits, ".", "_", ":" or "-")`);
  }
  return role;
}

/** A comma-separated list of role names (SECURITY_TWO_FACTOR_REQUIRED_ROLES). */
export function roleList(): Field<readonly string[]> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw.trim() === '') return [];
      const roles = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      return [...new Set(roles.map((r) => checkRole(name, r)))];
    },
  };
}

/**
 * SECURITY_TWO_FACTOR_METHODS_BY_ROLE: `role:method,method;role:method`, e.g.
 * `admin:authenticator;support:authenticator,email`. A role listed here may
 * only set up the methods listed for it (still within
 * SECURITY_TWO_FACTOR_ENABLED_METHODS); a user with several listed roles gets
 * the methods all of them allow.
 */
export function methodsByRole<const T extends string>(
  methods: readonly T[],
): Field<Readonly<Record<string, readonly T[]>>> {
  return {
    parse(raw, name) {
      const out: Record<string, readonly T[]> = {};
      if (raw === undefined || raw.trim() === '') return out;
      for (const entry of raw.split(';')) {
        if (entry.trim() === '') continue;
        const colon = entry.indexOf(':');
        if (colon < 0)
          throw new ConfigProblem(`${name}: "${entry.trim()}" must be role:method[,method] (entries separated by ";")`);
        const role = checkRole(name, entry.slice(0, colon).trim());
        if (Object.hasOwn(out, role)) throw new ConfigProblem(`${name} names the role "${role}" twice`);
        const list = entry
          .slice(colon + 1)
          .split(',')
          .map((m) => m.trim().toLowerCase())
          .filter((m) => m !== '');
        const bad = list.filter((m) => !(methods as readonly string[]).includes(m));
        if (list.length === 0 || bad.length) {
          throw new ConfigProblem(
            `${name}: role "${role}" must list methods among ${methods.join(', ')}${bad.length ? ` (got ${bad.join(', ')})` : ''}`,
          );
        }
        out[role] = [...new Set(list)] as T[];
      }
      return out;
    },
  };
}

/** A cookie name, or '' / `none` for "no cookie" (SECURITY_REFRESH_TOKEN_COOKIE_NAME). */
export function cookieName(def: string): Field<string> {
  return {
    parse(raw, name) {
      if (raw === undefined) return def;
      const v = raw.trim();
      if (v === '' || v.toLowerCase() === 'none') return '';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(v))
        throw new ConfigProblem(`${name} must be a cookie name (letters, digits, "_", "-") or empty`);
      return v;
    },
  };
}
