import { bool, duration, int, json, list, oneOf, str, url, type Field } from './parse.js';

/** TOTP key map {"1": "<secret>", ...}: the highest tag encrypts, every tag decrypts (docs/architecture.md, Secrets at rest). */
function checkKeyMap(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be a JSON object like {"1": "<secret>"}';
  const entries = Object.entries(v);
  if (entries.length === 0) return 'must name at least one key';
  for (const [tag, secret] of entries) {
    if (!/^\d+$/.test(tag)) return `has a tag "${tag}" that is not a number`;
    if (typeof secret !== 'string' || secret.length < 16)
      return `key "${tag}" must be a string of at least 16 characters`;
  }
  return null;
}

function checkTwilioConfig(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'must be a JSON object';
  for (const k of ['ACCOUNT_SID', 'AUTH_TOKEN', 'PHONE_NUMBER']) {
    if (typeof (v as Record<string, unknown>)[k] !== 'string') return `must have a string ${k}`;
  }
  return null;
}

/** Fastify's trustProxy: true/false, a hop count, or a comma list of addresses/CIDRs. */
const trustProxy: Field<boolean | number | string> = {
  parse(raw) {
    if (raw === undefined || raw.trim() === '' || raw.trim().toLowerCase() === 'false') return false;
    if (raw.trim().toLowerCase() === 'true') return true;
    if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
    return raw.trim();
  },
};

export const TWO_FACTOR_METHODS = ['email', 'authenticator', 'sms'] as const;
export type TwoFactorMethod = (typeof TWO_FACTOR_METHODS)[number];

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

/**
 * Every setting the service reads, by its environment name. The Config type is
 * derived from this table, and the drift test compares it with .env.example,
 * the Dockerfile and docker-compose.yml.
 */
export const schema = {
  NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
  PORT: int(3000, 0, 65535),
  HOST: str('127.0.0.1'),
  DATA_DIR: str('./data'),
  DATABASE_URL: url(),
  SECRET_KEY: str(),
  SECURITY_TOTP_SECRETS: json<Record<string, string>>(checkKeyMap),
  TRUST_PROXY: trustProxy,
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  REDIS_URL: url(),
  CORS_ORIGINS: list<string>(null, []),
  // 100 POSTs a minute per address: far above a person, far below a guessing script.
  RATE_LIMIT_MAX: int(100, 1),
  RATE_LIMIT_WINDOW: duration(60, 1),
  SESSION_COOKIE_SECURE: bool(true),
  SESSION_COOKIE_SAMESITE: oneOf(['strict', 'lax', 'none'], 'lax'),
  SECURITY_SESSION_LIFETIME: duration(DAY, 60),
  SECURITY_REMEMBER_DURATION: duration(30 * DAY, 60),
  SECURITY_TOKEN_MAX_AGE: duration(DAY, 60),
  SECURITY_PASSWORD_LENGTH_MIN: int(8, 1, 4096),
  SECURITY_REGISTERABLE: bool(false),
  SECURITY_FRESHNESS: duration(24 * HOUR),
  SECURITY_FRESHNESS_GRACE_PERIOD: duration(HOUR),
  SECURITY_TWO_FACTOR_REQUIRED: bool(false),
  SECURITY_TWO_FACTOR_ENABLED_METHODS: list(TWO_FACTOR_METHODS, TWO_FACTOR_METHODS),
  SECURITY_TOTP_ISSUER: str('tfa-service'),
  SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY: duration(120, 30),
  SECURITY_TWO_FACTOR_MAIL_VALIDITY: duration(5 * MINUTE, 30),
  SECURITY_TWO_FACTOR_SMS_VALIDITY: duration(2 * MINUTE, 30),
  SECURITY_TWO_FACTOR_SETUP_WITHIN: duration(30 * MINUTE, 60),
  SECURITY_TWO_FACTOR_MAX_ATTEMPTS: int(5, 1, 100),
  SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: int(10, 1, 1000),
  SECURITY_TWO_FACTOR_LOCKOUT_DURATION: duration(15 * MINUTE, 1),
  SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: bool(true),
  SECURITY_TWO_FACTOR_LOGIN_VALIDITY: duration(30 * DAY),
  SECURITY_TWO_FACTOR_RESCUE_EMAIL: bool(true),
  SECURITY_TWO_FACTOR_RESCUE_MAIL: str('no-reply@localhost'),
  SECURITY_MULTI_FACTOR_RECOVERY_CODES: bool(true),
  SECURITY_MULTI_FACTOR_RECOVERY_CODES_N: int(5, 1, 50),
  SECURITY_EMAIL_SENDER: str('no-reply@localhost'),
  EMAIL_SERVICE: str('log'),
  SENDGRID_API_KEY: str(),
  SENDGRID_API_URL: url(),
  SECURITY_SMS_SERVICE: str('log'),
  SECURITY_SMS_SERVICE_CONFIG: json<{ ACCOUNT_SID: string; AUTH_TOKEN: string; PHONE_NUMBER: string }>(
    checkTwilioConfig,
  ),
  TWILIO_API_URL: url(),
  OUTBOX_FILE: str(),
  METRICS_ENABLED: bool(true),
  // 0: /metrics on the API port; any other number: its own listener.
  METRICS_PORT: int(0, 0, 65535),
  SHUTDOWN_TIMEOUT: duration(10, 1),
} as const;

type Schema = typeof schema;
type RawConfig = { readonly [K in keyof Schema]: Schema[K] extends Field<infer T> ? T : never };

/** The validated, frozen configuration every module receives. */
export type Config = Omit<RawConfig, 'SECRET_KEY' | 'SECURITY_TOTP_SECRETS'> & {
  readonly SECRET_KEY: string;
  readonly SECURITY_TOTP_SECRETS: Readonly<Record<string, string>>;
};
export type { RawConfig };
