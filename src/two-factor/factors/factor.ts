import type { Updateable } from 'kysely';
import type { AuditContext } from '../../audit/audit.js';
import type { SecondFactor, TwoFactorMethod } from '../../config.js';
import type { UsersTable } from '../../db/types.js';
import type { AppError } from '../../errors.js';
import type { User } from '../../users/users.repository.js';
import type { TfDeps } from '../deps.js';
import type { Pending } from '../pending.repository.js';

/**
 * A second factor: one module per method under factors/, one line each in the
 * table (factors/index.ts), which app.ts hands to the services (`WithFactors`). The ids are the values of
 * SECURITY_TWO_FACTOR_ENABLED_METHODS (config/schema.ts), the wire's
 * `tf_primary_method` and the column of that name. How to add one:
 * docs/architecture.md.
 */
export type FactorId = SecondFactor;

/** What a setup keeps on its pending row until a proof confirms it (tf_pending.setup_*). */
export interface Enrolment {
  /** An encrypted secret (crypto/secret-box.ts), bound to the user. */
  secret: string | null;
  /** An E.164 number. */
  phone: string | null;
}

/**
 * What the client sent to prove the factor, read once from the body
 * (two-factor/proof.ts), or a security key's assertion (POST /wan-signin/{token}:
 * the credential as the browser gave it, and the wan_state naming its challenge).
 * A factor refuses a kind it does not take.
 */
export type Proof = { kind: 'code'; code: string | null } | { kind: 'assertion'; credential: unknown; state: string };

/** What a proof is checked against: the pending sign-in or setup (charged already) and its user. */
export interface Attempt {
  pending: Pending;
  user: User;
  /** The setup being confirmed (state `validating_profile`), or null for a sign-in with the user's factor. */
  enrolment: Enrolment | null;
  now: Date;
  /** The caller, for the audit rows a factor writes itself (a security key's counter regression). */
  audit?: AuditContext;
}

export type Verdict =
  | {
      ok: true;
      /** The method that passed (audit and metrics label). */
      factor: FactorId;
      /** The TOTP time step the code was for: confirmed() compares-and-sets it. */
      totpStep?: number;
      /** A rescue code e-mailed by /tf-rescue passed instead of the user's own factor. */
      rescue?: boolean;
    }
  | {
      ok: false;
      /** The proof is right but was accepted already (a TOTP step used a moment ago): not a guess. */
      replay?: boolean;
      /** The answer instead of TWO_FACTOR_INVALID_TOKEN on `code` (a key's WEBAUTHN_NO_VERIFY on `credential`). */
      refusal?: AppError;
    };

/** What a passed proof writes to the user, in completePending's statement. */
export interface Confirmation {
  changes: Updateable<UsersTable>;
  /** Only if the stored TOTP step is before this one (replay, compared-and-set in the same statement). */
  afterStep?: number;
}

/** A challenge whose limits were checked: issue() sends it once the pending row exists. */
export interface Challenge {
  issue(pendingId: string, purpose: ChallengePurpose, audit: AuditContext): Promise<void>;
}

export type ChallengePurpose = 'signin' | 'setup' | 'rescue';

export interface Factor {
  readonly id: FactorId;
  /**
   * POST /tf-setup with this method: checks the method's own input (a phone
   * number), makes what the pending setup keeps, and the extra answer fields
   * (an authenticator's key and QR code). Throws a ValidationError for bad input.
   */
  enrol(
    deps: TfDeps,
    user: User,
    input: { phone: string | undefined },
    audit: AuditContext,
  ): Promise<{ enrolment: Enrolment; answer: Record<string, unknown> }>;
  /**
   * Before a pending sign-in (enrolment null) or setup is stored: reserve what
   * the proof needs from us (a sent code: its send limits, 429 when over), so an
   * over-limit request changes nothing. Null when the factor needs no challenge.
   */
  challenge(deps: TfDeps, user: User, enrolment: Enrolment | null, audit: AuditContext): Promise<Challenge | null>;
  /** The one rule that accepts a proof (a sent code is used up here, atomically). */
  verify(deps: TfDeps, proof: Proof, attempt: Attempt): Promise<Verdict>;
  /** What a passed proof changes on the user (a setup: the new method; a sign-in: the TOTP step). */
  confirmed(attempt: Attempt, verdict: Extract<Verdict, { ok: true }>): Confirmation;
  /**
   * A factor held apart from tf_primary_method (security keys, registered at /wan-register):
   * whether the user holds it, so /login asks for it. Absent for the code methods.
   */
  held?(deps: TfDeps, user: User): Promise<boolean>;
  /** The proof kind this factor takes other than a code (the assertion of a key): how a step finds it. */
  readonly proofKind?: Exclude<Proof['kind'], 'code'>;
  /** Fields of the /login (and /tf-select) answer that asks for this factor, e.g. `tf_signin_url`. */
  readonly askFields?: Readonly<Record<string, unknown>>;
}

/** A factor for every id: the table of factors/index.ts. */
export type Factors = Readonly<Record<FactorId, Factor>>;

/** What the services that pick a factor (login, setup, validate) get besides TfDeps: the table, from app.ts. */
export interface WithFactors {
  factors: Factors;
}

/** The factor of a stored method name, or null for none (or one this version no longer has). */
export function factorOf(factors: Factors, id: string | null | undefined): Factor | null {
  return id && Object.hasOwn(factors, id) ? factors[id as FactorId] : null;
}

/**
 * The factors a user can sign in with, their primary method first: tf_primary_method
 * and every factor held apart from it (security keys). Two or more: /tf-select.
 */
export async function heldFactors(deps: TfDeps, factors: Factors, user: User): Promise<Factor[]> {
  const primary = factorOf(factors, user.tf_primary_method);
  const held: Factor[] = primary ? [primary] : [];
  for (const factor of Object.values(factors)) if (factor.held && (await factor.held(deps, user))) held.push(factor);
  return held;
}

/** The factor that checks a proof at a sign-in: a code is the primary method's, another kind the factor that takes it. */
export function factorForProof(factors: Factors, user: User, proof: Proof): Factor | null {
  if (proof.kind === 'code') return factorOf(factors, user.tf_primary_method);
  return Object.values(factors).find((f) => f.proofKind === proof.kind) ?? null;
}

/** The answer that asks for a factor at sign-in (openapi.yaml, /login and /tf-select). */
export function askAnswer(factor: Factor, user: User): Record<string, unknown> {
  return {
    tf_required: true,
    tf_state: 'ready',
    tf_primary_method: user.tf_primary_method,
    tf_method: factor.id,
    ...factor.askFields,
  };
}

/** The user's second-factor columns after a setup of `id` is confirmed: every other factor's data goes. */
export function enrolled(
  id: TwoFactorMethod,
  data: { secret?: string | null; phone?: string | null; totpStep?: number | null } = {},
): Updateable<UsersTable> {
  return {
    tf_primary_method: id,
    tf_totp_secret: data.secret ?? null,
    tf_phone_number: data.phone ?? null,
    tf_totp_last_step: data.totpStep ?? null,
  };
}
