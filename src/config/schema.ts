import { allowedCountries } from '../sms-budget/countries.js';
import { corsOrigins } from './cors-origins.js';
import { cookieName, methodsByRole, roleList } from './policy-settings.js';
import { trustProxy } from './trust-proxy.js';
import { NOTICES } from '../events/notice-names.js';
import { webhookUrls } from './webhook-urls.js';
import { bool, duration, int, json, list, oneOf, optionalInt, str, url, type Field } from './parse.js';
import { operatorTokens } from '../operator/operator-tokens.js';

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

export const TWO_FACTOR_METHODS = ['email', 'authenticator', 'sms'] as const;
export type TwoFactorMethod = (typeof TWO_FACTOR_METHODS)[number];
/**
 * Every second factor: the code methods above (a user's tf_primary_method) and
 * security keys, which a user holds apart from it (SECURITY_WEBAUTHN; README "Security keys").
 */
export const SECOND_FACTORS = [...TWO_FACTOR_METHODS, 'webauthn'] as const;
export type SecondFactor = (typeof SECOND_FACTORS)[number];

/** Unified sign-in's passcode kinds (Flask-Security's SECURITY_US_ENABLED_METHODS values), in the order a passcode is tried. */
export const US_METHODS = ['password', 'email', 'authenticator', 'sms'] as const;
export type UsMethod = (typeof US_METHODS)[number];
/** The methods whose code the service sends (Flask-Security's code_methods); an authenticator's the user reads off the app. */
export const US_CODE_METHODS: readonly UsMethod[] = ['email', 'sms'];

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
  // <NAME>_FILE: a file holding <NAME>, as Docker and Kubernetes mount secrets (secret-files.ts).
  SECRET_KEY_FILE: str(),
  SECURITY_TOTP_SECRETS_FILE: str(),
  TRUST_PROXY: trustProxy,
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  REDIS_URL: url(),
  CORS_ORIGINS: corsOrigins,
  // 100 POSTs a minute per address: far above a person, far below a guessing script.
  RATE_LIMIT_MAX: int(100, 1),
  RATE_LIMIT_WINDOW: duration(60),
  SESSION_COOKIE_SECURE: bool(true),
  SESSION_COOKIE_SAMESITE: oneOf(['strict', 'lax', 'none'], 'lax'),
  SECURITY_SESSION_LIFETIME: duration(DAY, { unusualBelow: MINUTE }),
  // The in-process session cache's longest keep (docs/architecture.md, Session cache); 0 turns it off.
  SESSION_CACHE_MAX_AGE: duration(5, { min: 0, max: MINUTE }),
  SECURITY_REMEMBER_DURATION: duration(30 * DAY, { unusualBelow: MINUTE }),
  // Flask-Security 5.9's default: short-lived, renewed with a refresh token (README, "Tokens").
  SECURITY_TOKEN_MAX_AGE: duration(15 * MINUTE, { unusualBelow: MINUTE }),
  // true: Flask-Security's stateless tokens (no token rows; signing out does not revoke them).
  SECURITY_TOKEN_STATELESS: bool(false),
  SECURITY_REFRESH_TOKEN: bool(false),
  SECURITY_REFRESH_TOKEN_MAX_AGE: duration(90 * DAY),
  SECURITY_REFRESH_TOKEN_MAX_IDLE: duration(7 * DAY),
  SECURITY_REFRESH_TOKEN_COOKIE_NAME: cookieName('fs_refresh'),
  SECURITY_PASSWORD_LENGTH_MIN: int(8, 1, 4096),
  SECURITY_REGISTERABLE: bool(false),
  SECURITY_FRESHNESS: duration(24 * HOUR, { min: 0 }),
  SECURITY_FRESHNESS_GRACE_PERIOD: duration(HOUR, { min: 0 }),
  SECURITY_TWO_FACTOR_REQUIRED: bool(false),
  SECURITY_TWO_FACTOR_ENABLED_METHODS: list(TWO_FACTOR_METHODS, TWO_FACTOR_METHODS),
  // Two-factor policy without code (README, "Two-factor policy"; src/policy/two-factor-policy.ts).
  SECURITY_TWO_FACTOR_REQUIRED_ROLES: roleList(),
  SECURITY_TWO_FACTOR_METHODS_BY_ROLE: methodsByRole(TWO_FACTOR_METHODS),
  SECURITY_TWO_FACTOR_GRACE_PERIOD: duration(0, { min: 0 }),
  SECURITY_TOTP_ISSUER: str('tfa-service'),
  // 0 accepts the current 30-second step only; 49 steps (1470 s) is the most the TOTP check
  // takes (MAX_TOTP_WINDOW_SECONDS of the authenticator module), so a wider window fails here, not at sign-in.
  SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY: duration(120, { min: 0, max: 49 * 30 }),
  SECURITY_TWO_FACTOR_MAIL_VALIDITY: duration(5 * MINUTE, { unusualBelow: 30 }),
  SECURITY_TWO_FACTOR_SMS_VALIDITY: duration(2 * MINUTE, { unusualBelow: 30 }),
  SECURITY_TWO_FACTOR_SETUP_WITHIN: duration(30 * MINUTE, { unusualBelow: MINUTE }),
  SECURITY_TWO_FACTOR_MAX_ATTEMPTS: int(5, 1, 100),
  SECURITY_TWO_FACTOR_LOCKOUT_THRESHOLD: int(10, 1, 1000),
  SECURITY_TWO_FACTOR_LOCKOUT_DURATION: duration(15 * MINUTE),
  SECURITY_TWO_FACTOR_ALWAYS_VALIDATE: bool(true),
  SECURITY_TWO_FACTOR_LOGIN_VALIDITY: duration(30 * DAY, { min: 0 }),
  SECURITY_TWO_FACTOR_RESCUE_EMAIL: bool(true),
  SECURITY_TWO_FACTOR_RESCUE_MAIL: str('no-reply@localhost'),
  SECURITY_MULTI_FACTOR_RECOVERY_CODES: bool(true),
  SECURITY_MULTI_FACTOR_RECOVERY_CODES_N: int(5, 1, 50),
  SECURITY_EMAIL_SENDER: str('no-reply@localhost'),
  EMAIL_SERVICE: str('log'),
  SENDGRID_API_KEY: str(),
  SENDGRID_API_KEY_FILE: str(),
  SENDGRID_API_URL: url(),
  SECURITY_SMS_SERVICE: str('log'),
  SECURITY_SMS_SERVICE_CONFIG: json<{ ACCOUNT_SID: string; AUTH_TOKEN: string; PHONE_NUMBER: string }>(
    checkTwilioConfig,
  ),
  SECURITY_SMS_SERVICE_CONFIG_FILE: str(),
  TWILIO_API_URL: url(),
  // SMS cost limits against SMS pumping (README "Abuse resistance"): where codes may go, how many
  // the whole service sends per hour and per day, and how many one client address may trigger.
  SECURITY_SMS_ALLOWED_COUNTRIES: allowedCountries,
  SECURITY_SMS_BUDGET_HOURLY: int(200, 1),
  SECURITY_SMS_BUDGET_DAILY: int(2000, 1),
  SECURITY_SMS_IP_HOURLY: int(20, 1),
  // Unified sign-in (README "Unified sign-in", openapi.yaml tag "Unified sign-in"), with
  // Flask-Security's names and defaults: off; every method; a password or e-mail code still needs
  // the second factor, an SMS or authenticator code (something the user holds) does not.
  SECURITY_UNIFIED_SIGNIN: bool(false),
  SECURITY_US_ENABLED_METHODS: list(US_METHODS, US_METHODS),
  SECURITY_US_MFA_REQUIRED: list(US_METHODS, ['password', 'email']),
  // How long a sent code lives and the authenticator's window either side of now; at most 49
  // TOTP steps, as SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY.
  SECURITY_US_TOKEN_VALIDITY: duration(120, { max: 49 * 30, unusualBelow: 30 }),
  SECURITY_US_SETUP_WITHIN: duration(30 * MINUTE, { unusualBelow: MINUTE }),
  SECURITY_US_SIGNIN_REPLACES_LOGIN: bool(false),
  SECURITY_US_RETURN_GENERIC_RESPONSES: bool(false),
  OUTBOX_FILE: str(),
  METRICS_ENABLED: bool(true),
  // Metrics tell an attacker which sign-ins fail and how fast: by default on a port of their own,
  // on loopback (9464 is Prometheus's registered port for exporters). 0: on the API port, behind METRICS_TOKEN.
  METRICS_PORT: int(9464, 0, 65535),
  METRICS_HOST: str('127.0.0.1'),
  METRICS_TOKEN: str(),
  // The operator API and token introspection (README, "Operator API"): off until ADMIN_PORT is set,
  // on a listener of its own, on loopback by default; callers present a token whose hash ADMIN_TOKENS holds.
  ADMIN_PORT: optionalInt(0, 65535),
  ADMIN_HOST: str('127.0.0.1'),
  ADMIN_TOKENS: operatorTokens,
  ADMIN_TOKENS_FILE: str(),
  // Security keys and passkeys as a second factor (README "Security keys"): names and defaults as
  // Flask-Security's, except that the relying party and its origins are configured, not read
  // from the Host header (a proxy's Host is not what the browser signed).
  SECURITY_WEBAUTHN: bool(false),
  SECURITY_WAN_RP_ID: str(),
  SECURITY_WAN_RP_NAME: str('tfa-service'),
  SECURITY_WAN_ORIGINS: corsOrigins,
  SECURITY_WAN_REGISTER_WITHIN: duration(30 * MINUTE, { unusualBelow: MINUTE }),
  SECURITY_WAN_SIGNIN_WITHIN: duration(MINUTE, { unusualBelow: 10 }),
  SECURITY_WAN_REGISTER_TIMEOUT: int(60000, 1000, 600000),
  SECURITY_WAN_SIGNIN_TIMEOUT: int(60000, 1000, 600000),
  SECURITY_WAN_ALLOW_AS_MULTI_FACTOR: bool(true),
  // What the key is asked for (a PIN or a fingerprint): Flask-Security asks a second factor for
  // none ('discouraged'); 'required' also refuses an assertion without it.
  SECURITY_WAN_USER_VERIFICATION: oneOf(['discouraged', 'preferred', 'required'], 'discouraged'),
  // Node timers overflow past 2^31-1 ms (about 24 days) and would fire at once.
  SHUTDOWN_TIMEOUT: duration(10, { max: 2147483 }),
  // Events out (README, "Webhooks" and "Security e-mails"): signed webhooks of every audit event,
  // and e-mails to the user about changes to their second factor.
  WEBHOOK_URLS: webhookUrls,
  WEBHOOK_SECRET: str(),
  WEBHOOK_SECRET_FILE: str(),
  // Below SHUTDOWN_TIMEOUT's default, so a stop waits out an attempt in flight.
  WEBHOOK_TIMEOUT: duration(5, { max: 300 }),
  WEBHOOK_GIVE_UP_AFTER: duration(3 * DAY),
  SECURITY_NOTIFICATIONS: list([...NOTICES, 'none'], NOTICES),
} as const;

type Schema = typeof schema;
type RawConfig = { readonly [K in keyof Schema]: Schema[K] extends Field<infer T> ? T : never };

/** The validated, frozen configuration every module receives. */
export type Config = Omit<RawConfig, 'SECRET_KEY' | 'SECURITY_TOTP_SECRETS'> & {
  readonly SECRET_KEY: string;
  readonly SECURITY_TOTP_SECRETS: Readonly<Record<string, string>>;
};
export type { RawConfig };
