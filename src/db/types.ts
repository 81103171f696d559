import type { ColumnType, Generated } from 'kysely';
import type { TwoFactorMethod, UsMethod } from '../config/schema.js';

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
export type PendingState = 'setup_from_login' | 'validating_profile' | 'ready';

export interface TfPendingTable {
  id: string;
  user_id: number;
  kind: PendingKind;
  state: PendingState;
  fs_uniquifier: string;
  remember: Generated<boolean>;
  attempts: Generated<number>;
  setup_method: FactorId | null;
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

export interface DB {
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
}
