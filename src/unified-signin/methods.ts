import { US_CODE_METHODS, type Config, type UsMethod } from '../config.js';
import type { TfDeps } from '../two-factor/deps.js';
import { factorOf, type Factor, type Factors } from '../two-factor/factors/factor.js';
import type { User } from '../users/users.repository.js';
import type { SetupMethod, UsMethodRow } from './us.repository.js';

/**
 * Which unified sign-in methods exist, need a code sent or a setup, and which a
 * user has (Flask-Security's code_methods, setup_methods, active_methods; openapi.yaml
 * "Unified sign-in"). Every method but the password is a second factor's module
 * (two-factor/factors/): the same code, sending and checking, through the Factor interface.
 */
export function enabledMethods(config: Config): readonly UsMethod[] {
  return config.SECURITY_US_ENABLED_METHODS;
}

/** Methods whose code the service sends (e-mail, SMS); an authenticator's code the user reads off the app. */
export function codeMethods(config: Config): UsMethod[] {
  return enabledMethods(config).filter((m) => US_CODE_METHODS.includes(m));
}

export function setupMethods(config: Config): SetupMethod[] {
  return enabledMethods(config).filter((m): m is SetupMethod => m !== 'password');
}

/** The user's methods: the ones set up that are still enabled, and the password (every account has one). */
export function activeMethods(config: Config, rows: readonly UsMethodRow[]): UsMethod[] {
  const set = new Set<string>(rows.map((r) => r.method));
  return ['password' as const, ...setupMethods(config).filter((m) => set.has(m))];
}

export function isSetupMethod(config: Config, method: string): method is SetupMethod {
  return (setupMethods(config) as string[]).includes(method);
}

/**
 * The user as a factor reads it, for one of its unified sign-in methods: the
 * factors read a method's data (the phone, the encrypted authenticator secret, its
 * last step) from the second-factor columns of the User they are given, so unified
 * sign-in hands them its own row's data there. Nothing is written back through
 * this view: unified sign-in's repository stores what a passed proof confirms.
 */
export function asFactorUser(user: User, row: UsMethodRow): User {
  return {
    ...user,
    tf_primary_method: row.method,
    tf_totp_secret: row.totp_secret,
    tf_phone_number: row.phone,
    tf_totp_last_step: row.totp_last_step,
  };
}

/** The factor of a setup method (the table from app.ts has one per method). */
export function factorFor(factors: Factors, method: SetupMethod): Factor {
  const factor = factorOf(factors, method);
  if (!factor) throw new Error(`no factor for unified sign-in method ${method}`);
  return factor;
}

/**
 * The config a factor sees when it works for unified sign-in: a sent code lives,
 * and an authenticator code is accepted within, SECURITY_US_TOKEN_VALIDITY
 * (Flask-Security's one validity for every unified sign-in code).
 */
export function usFactorDeps<D extends TfDeps>(deps: D): D {
  const v = deps.config.SECURITY_US_TOKEN_VALIDITY;
  const config: Config = Object.freeze({
    ...deps.config,
    SECURITY_TWO_FACTOR_MAIL_VALIDITY: v,
    SECURITY_TWO_FACTOR_SMS_VALIDITY: v,
    SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY: v,
  });
  return { ...deps, config };
}
