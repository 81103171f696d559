import type { ColumnType, Generated } from 'kysely';
import type { SecondFactor, TwoFactorMethod, UsMethod } from '../config/schema.js';

/** A second factor's id (two-factor/factors/factor.ts FactorId): the values of SECURITY_TWO_FACTOR_ENABLED_METHODS. */
type FactorId = TwoFactorMethod;

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface UsersTable {
  id: Generated<number>;
  email: string;
  /** lower(email), unique: e-mail addresses are compared case-insensitively. */
  email_normalized: string;
  password: string;
  active: Generated<boolean>;
  fs_uniquifier: string;
  confirmed_at: Timestamp | null;
  created_at: CreatedAt;
  tf_primary_method: FactorId | null;
  tf_totp_secret: string | null;
  tf_phone_number: string | null;
  /** Last accepted TOTP time step (docs/architecture.md, Budgets), compared-and-set at sign-in. */
  tf_totp_last_step: number | null;
  /** Second-factor lockout (docs/architecture.md, Budgets). */
  tf_failures: Generated<number>;
  tf_locked_until: Timestamp | null;
  tf_lockouts: Generated<number>;
  /** Per-user two-factor requirement (users:require-2fa; src/policy/two-factor-policy.ts). */
  tf_required: Generated<boolean>;
  /** First sign-in under a requirement without a factor: the enrolment grace period runs from here. */
  tf_grace_started_at: Timestamp | null;
}

export interface RolesTable {
  id: Generated<number>;
  name: string;
  description: string | null;
}

export interface RolesUsersTable {
  user_id: number;
  role_id: number;
}

export interface SessionsTable {
  /** HMAC of the session id: a database leak does not hand out live sessions. */
  id_hash: string;
  user_id: number | null;
  data: ColumnType<Record<string, unknown>, string, string>;
  expires_at: Timestamp;
  created_at: CreatedAt;
}

export interface AuditEventsTable {
  /** bigserial: pg returns int8 as a string. */
  id: Generated<string>;
  user_id: number | null;
  type: string;
  at: Timestamp;
  ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
}

/**
 * `signin` and `change`: the second factor's (two-factor/flow.ts); `us_signin`, `us_verify` and
 * `us_setup`: unified sign-in's sent code or setup (unified-signin/), which no two-factor step accepts.
 */
export type PendingKind = 'signin' | 'change' | 'us_signin' | 'us_verify' | 'us_setup';
/** `select`: the user holds two factors and picks one with /tf-select (two-factor/flow.ts). */
export type PendingState = 'setup_from_login' | 'validating_profile' | 'ready' | 'select';

export interface TfPendingTable {
  id: string;
  user_id: number;
  kind: PendingKind;
  state: PendingState;
  fs_uniquifier: string;
  remember: Generated<boolean>;
  attempts: Generated<number>;
  /** A /tf-setup method in practice (setup.service.ts picks only enabled code methods). */
  setup_method: SecondFactor | null;
  setup_secret: string | null;
  setup_phone: string | null;
  code_hash: string | null;
  code_purpose: string | null;
  code_destination: string | null;
  code_expires_at: Timestamp | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** The sign-in's first factor when not the password (unified sign-in); null means the password. */
  first_factor: Generated<string | null>;
}

/** A unified sign-in method a user set up (migrations/20261207T0200_unified_signin.ts). */
export interface UsMethodsTable {
  user_id: number;
  /** What /us-setup adds: every unified sign-in method but the password. */
  method: Exclude<UsMethod, 'password'>;
  /** The authenticator's secret, encrypted (crypto/secret-box.ts), bound to the user. */
  totp_secret: string | null;
  /** E.164, for `sms`. */
  phone: string | null;
  /** The last accepted TOTP step of the authenticator: this step and earlier ones are refused (replay). */
  totp_last_step: number | null;
  created_at: Timestamp;
}

export interface SmsSendsTable {
  id: Generated<number>;
  sent_at: Timestamp;
  ip_hash: string;
}

export interface SmsBudgetLockTable {
  id: number;
}

export interface TfCodeSendsTable {
  id: Generated<number>;
  user_id: number;
  destination: string;
  sent_at: Timestamp;
}

export interface TfDevicesTable {
  id: string;
  user_id: number;
  token_hash: string;
  fs_uniquifier: string;
  user_agent: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  expires_at: Timestamp;
}

export interface TfRecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  /** Keyed hash of the canonical code (12 lowercase hex), never the code. */
  code_hash: string;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

export interface TfHelpRequestsTable {
  user_id: number;
  sent_at: Timestamp;
}

/** Password-guessing throttle (docs/architecture.md, Budgets): one row per (account, IP) pair and per IP. */
export interface PasswordThrottleTable {
  /** HMAC of the scope and its subject: no e-mail or IP address in clear. */
  key: string;
  scope: 'pair' | 'ip';
  failures: Generated<number>;
  blocked_until: Timestamp | null;
  /** When the failures are forgotten (quiet period over); also what pruning deletes by. */
  forget_at: Timestamp;
}

/** A registered security key (two-factor/webauthn/): what its assertions are checked against. */
export interface WebauthnCredentialsTable {
  id: Generated<number>;
  user_id: number;
  /** base64url of the raw credential id. */
  credential_id: string;
  /** base64url of the COSE public key. */
  public_key: string;
  /** bigint: pg returns a string, PGlite a number (read with Number()). */
  sign_count: ColumnType<string | number, number, number>;
  /** JSON array of the transports the browser reported. */
  transports: string;
  backup_eligible: boolean;
  backup_state: boolean;
  device_type: string;
  usage: string;
  discoverable: boolean | null;
  name: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

/** The user id security keys store (README "Security keys"): random, made at the first registration. */
export interface WebauthnUserHandlesTable {
  user_id: number;
  /** base64url of 32 random bytes. */
  handle: string;
}

/** A ceremony's challenge, named by the keyed hash of its wan_state; used once. */
export interface WebauthnChallengesTable {
  token_hash: string;
  purpose: 'register' | 'signin' | 'verify';
  user_id: number;
  pending_id: string | null;
  challenge: string;
  name: string | null;
  usage: string | null;
  user_verification: boolean;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** One issued Authentication-Token (auth/token-rows.repository.ts), bound to the sign-in that issued it. */
export interface AuthTokensTable {
  id: string;
  user_id: number;
  signin_id: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

/** A refresh token family (Flask-Security 5.9's refresh tracker): `gen` counts rotations. */
export interface RefreshTokensTable {
  family: string;
  user_id: number;
  signin_id: string;
  gen: Generated<number>;
  auth_at: Timestamp;
  tf_at: Timestamp | null;
  authn_methods: ColumnType<string[], string, string>;
  created_at: CreatedAt;
  last_used_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface DB {
  webauthn_credentials: WebauthnCredentialsTable;
  webauthn_challenges: WebauthnChallengesTable;
  webauthn_user_handles: WebauthnUserHandlesTable;
  auth_tokens: AuthTokensTable;
  refresh_tokens: RefreshTokensTable;
  tf_pending: TfPendingTable;
  us_methods: UsMethodsTable;
  tf_code_sends: TfCodeSendsTable;
  sms_sends: SmsSendsTable;
  sms_budget_lock: SmsBudgetLockTable;
  tf_devices: TfDevicesTable;
  tf_recovery_codes: TfRecoveryCodesTable;
  tf_help_requests: TfHelpRequestsTable;
  users: UsersTable;
  roles: RolesTable;
  roles_users: RolesUsersTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  password_throttle: PasswordThrottleTable;
  event_outbox: EventOutboxTable;
  event_deliveries: EventDeliveriesTable;
}

/** A copy of each audit row, written by a trigger in the same transaction (docs/architecture.md, Events out). */
export interface EventOutboxTable {
  /** bigserial: pg returns int8 as a string. */
  id: Generated<string>;
  event_id: Generated<string>;
  audit_id: string;
  /** xid8 of the writing transaction, as text. */
  xid: string;
  user_id: number | null;
  type: string;
  at: Timestamp;
  ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  fanned_out: Generated<boolean>;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead' | 'skipped';

/** One outbox event for one target: `email` or `webhook:<url>`. */
export interface EventDeliveriesTable {
  id: Generated<string>;
  outbox_id: string;
  target: string;
  user_id: number | null;
  xid: string;
  state: DeliveryState;
  attempts: Generated<number>;
  created_at: Timestamp;
  next_attempt_at: Timestamp;
  claim: string | null;
  lease_until: Timestamp | null;
  last_status: number | null;
  last_error: string | null;
  finished_at: Timestamp | null;
}
