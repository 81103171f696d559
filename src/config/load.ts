import { ConfigProblem, type Field } from './parse.js';
import { readSecretFiles, SECRET_FILE_VARIABLES, type ReadFile } from './secret-files.js';
import { unknownSettingWarnings } from './unknown-vars.js';
import { schema, type Config, type RawConfig } from './schema.js';
import { validateSendersConfig } from '../senders/registry.js';
import { sendersConfig } from '../senders/from-config.js';
import { eventsConfigProblems } from '../events/settings.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface GeneratedSecrets {
  SECRET_KEY: string;
  SECURITY_TOTP_SECRETS: Record<string, string>;
}

export interface LoadOptions {
  /**
   * Called outside production when SECRET_KEY or SECURITY_TOTP_SECRETS is
   * missing; returns values kept in the data folder (see dev-secrets.ts).
   */
  devSecrets?: (dataDir: string) => GeneratedSecrets;
  warn?: (message: string) => void;
  /** Reads the file named by a `<NAME>_FILE` variable (secret-files.ts); the entry points pass fs. */
  readFile?: ReadFile;
}

/** Validates the environment once; reports every problem, not just the first. */
export function loadConfig(given: Record<string, string | undefined>, options: LoadOptions = {}): Config {
  const { env, fromFile, problems } = readSecretFiles(given, options.readFile);
  const raw: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    try {
      raw[name] = field.parse(env[name], fromFile.has(name) ? `${name} (from ${name}_FILE)` : name);
    } catch (err) {
      if (err instanceof ConfigProblem) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length) throw new ConfigError(problems);
  for (const warning of startupWarnings(env, raw)) options.warn?.(warning);
  const cfg = raw as unknown as RawConfig;
  problems.push(...crossChecks(cfg));

  let { SECRET_KEY, SECURITY_TOTP_SECRETS } = cfg;
  if (cfg.NODE_ENV === 'production') {
    const refusal = productionRefusal(cfg, env);
    if (refusal) problems.push(refusal);
  } else if (!SECRET_KEY || !SECURITY_TOTP_SECRETS) {
    if (options.devSecrets) {
      const generated = options.devSecrets(cfg.DATA_DIR);
      SECRET_KEY ??= generated.SECRET_KEY;
      SECURITY_TOTP_SECRETS ??= generated.SECURITY_TOTP_SECRETS;
      options.warn?.(
        `SECRET_KEY/SECURITY_TOTP_SECRETS not set: using development values kept in ${cfg.DATA_DIR}. Set both in production.`,
      );
    } else {
      problems.push('SECRET_KEY and SECURITY_TOTP_SECRETS are required');
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze({
    ...cfg,
    SECRET_KEY: SECRET_KEY!,
    SECURITY_TOTP_SECRETS: Object.freeze({ ...SECURITY_TOTP_SECRETS! }),
  });
}

/**
 * Production never generates secrets and never sends codes to the log by
 * default: what is missing is named on one line, so that `docker compose up`
 * without a configuration stops with a message that says what to set.
 */
function productionRefusal(cfg: RawConfig, env: Record<string, string | undefined>): string | null {
  const secrets = (['SECRET_KEY', 'SECURITY_TOTP_SECRETS'] as const).filter((name) => !cfg[name]);
  // The log sender writes codes to the log: in production it must be a deliberate choice.
  const senders = (['EMAIL_SERVICE', 'SECURITY_SMS_SERVICE'] as const).filter((name) => !env[name]);
  if (secrets.length === 0 && senders.length === 0) return null;
  const advice = [
    secrets.length && `set ${secrets.map((n) => `${n} (or ${n}_FILE)`).join(' and ')}`,
    senders.length && `choose ${senders.join(' and ')} (sendgrid / twilio, or log on purpose)`,
  ].filter(Boolean);
  return `NODE_ENV=production refuses to start without ${[...secrets, ...senders].join(', ')}: ${advice.join('; ')} (README, Operations)`;
}

/** Valid but suspicious: misspelled names of ours, and unusual values (README, "Configuration"). */
function startupWarnings(env: Record<string, string | undefined>, raw: Record<string, unknown>): string[] {
  const fields = Object.entries(schema) as Array<[string, Field<unknown>]>;
  const unusual = fields.map(([name, field]) => field.unusual?.(raw[name], name) ?? null);
  return [
    ...unknownSettingWarnings(env, [
      ...fields.map(([name]) => name),
      ...SECRET_FILE_VARIABLES.map((name) => `${name}_FILE`),
    ]),
    ...unusual.filter((w): w is string => w !== null),
  ];
}

function crossChecks(cfg: RawConfig): string[] {
  const problems: string[] = [];
  if (cfg.SECRET_KEY !== undefined && cfg.SECRET_KEY.length < 32) {
    problems.push('SECRET_KEY must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  }
  if (cfg.SESSION_COOKIE_SAMESITE === 'none' && !cfg.SESSION_COOKIE_SECURE) {
    problems.push('SESSION_COOKIE_SAMESITE=none needs Secure cookies: unset SESSION_COOKIE_SECURE=false');
  }
  if (cfg.SECURITY_TWO_FACTOR_ENABLED_METHODS.length === 0) {
    problems.push('SECURITY_TWO_FACTOR_ENABLED_METHODS must name at least one method');
  }
  for (const [role, methods] of Object.entries(cfg.SECURITY_TWO_FACTOR_METHODS_BY_ROLE)) {
    if (!methods.some((m) => cfg.SECURITY_TWO_FACTOR_ENABLED_METHODS.includes(m))) {
      problems.push(
        `SECURITY_TWO_FACTOR_METHODS_BY_ROLE allows role "${role}" only methods that SECURITY_TWO_FACTOR_ENABLED_METHODS does not enable`,
      );
    }
  }
  if (cfg.SECURITY_UNIFIED_SIGNIN && cfg.SECURITY_US_ENABLED_METHODS.length === 0) {
    problems.push('SECURITY_US_ENABLED_METHODS must name at least one method when SECURITY_UNIFIED_SIGNIN is on');
  }
  if (cfg.SECURITY_US_SIGNIN_REPLACES_LOGIN && !cfg.SECURITY_UNIFIED_SIGNIN) {
    problems.push('SECURITY_US_SIGNIN_REPLACES_LOGIN needs SECURITY_UNIFIED_SIGNIN=true');
  }
  if (cfg.METRICS_ENABLED && cfg.METRICS_PORT === 0 && (cfg.METRICS_TOKEN ?? '').length < 16) {
    problems.push(
      'METRICS_PORT=0 serves /metrics on the public API port: set METRICS_TOKEN (at least 16 characters), or a METRICS_PORT of its own',
    );
  }
  if (cfg.METRICS_ENABLED && cfg.METRICS_PORT !== 0 && cfg.METRICS_PORT === cfg.PORT) {
    problems.push(
      `METRICS_PORT and PORT are both ${cfg.PORT}: give metrics a port of their own, or 0 for the API port`,
    );
  }
  problems.push(...eventsConfigProblems(cfg));
  problems.push(...operatorApiProblems(cfg));
  if (cfg.SECURITY_WEBAUTHN && (!cfg.SECURITY_WAN_RP_ID || cfg.SECURITY_WAN_ORIGINS.length === 0)) {
    problems.push(
      "SECURITY_WEBAUTHN needs SECURITY_WAN_RP_ID (the site's domain) and SECURITY_WAN_ORIGINS (the origins of the pages that call navigator.credentials)",
    );
  }
  // Providers check their own settings (a registered custom provider included).
  problems.push(...validateSendersConfig(sendersConfig(cfg as Config)));
  return problems;
}

/** The operator API (README, "Operator API"): a port of its own, and at least one token to open it with. */
function operatorApiProblems(cfg: RawConfig): string[] {
  if (cfg.ADMIN_PORT === undefined) return [];
  const problems: string[] = [];
  if (cfg.ADMIN_TOKENS.length === 0)
    problems.push(
      'ADMIN_PORT is set but ADMIN_TOKENS names no token: mint one with `npm run cli -- admin:token <name>`',
    );
  // 0 picks a free port (as PORT=0 does), so it clashes with nothing.
  if (
    cfg.ADMIN_PORT !== 0 &&
    (cfg.ADMIN_PORT === cfg.PORT || (cfg.METRICS_ENABLED && cfg.ADMIN_PORT === cfg.METRICS_PORT))
  )
    problems.push(`ADMIN_PORT ${cfg.ADMIN_PORT} is also PORT or METRICS_PORT: give the operator API a port of its own`);
  return problems;
}
