/**
 * Pluggable providers, as Flask-Security's SmsSenderFactory: a service name
 * from the configuration picks a factory. `log`, `sendgrid` (e-mail) and
 * `log`, `twilio` (SMS) are built in (builtinProviders); a table with others
 * (withEmailProvider, withSmsProvider) can be passed to createSenders. Names are matched case-insensitively, so a
 * Flask-Security setting such as `Twilio` keeps working.
 */
import { builtinEmailProviders, builtinSmsProviders } from './providers.js';
import type {
  EmailSenderFactory,
  Provider,
  SenderConfigCheck,
  SenderDeps,
  SendersConfig,
  Senders,
  SmsSenderFactory,
} from './types.js';

export type {
  EmailSenderFactory,
  Provider,
  SenderConfigCheck,
  SenderDeps,
  SendersConfig,
  SmsSenderFactory,
} from './types.js';

/** The providers by lower-case name, passed to validateSendersConfig and createSenders (no module state). */
export interface ProviderTable {
  email: Readonly<Record<string, Provider<EmailSenderFactory>>>;
  sms: Readonly<Record<string, Provider<SmsSenderFactory>>>;
}

export const builtinProviders: ProviderTable = { email: builtinEmailProviders, sms: builtinSmsProviders };

/** The table with one more (or a replaced) e-mail provider. `check` feeds validateSendersConfig. */
export function withEmailProvider(
  table: ProviderTable,
  name: string,
  factory: EmailSenderFactory,
  check?: SenderConfigCheck,
): ProviderTable {
  return { ...table, email: { ...table.email, [name.toLowerCase()]: check ? { factory, check } : { factory } } };
}

/** The table with one more (or a replaced) SMS provider. `check` feeds validateSendersConfig. */
export function withSmsProvider(
  table: ProviderTable,
  name: string,
  factory: SmsSenderFactory,
  check?: SenderConfigCheck,
): ProviderTable {
  return { ...table, sms: { ...table.sms, [name.toLowerCase()]: check ? { factory, check } : { factory } } };
}

function lookup<F>(
  providers: Readonly<Record<string, Provider<F>>>,
  setting: string,
  name: string,
): { provider?: Provider<F>; problem?: string } {
  const key = name.trim().toLowerCase();
  const provider = Object.hasOwn(providers, key) ? providers[key] : undefined;
  if (provider) return { provider };
  const known = Object.keys(providers).join(', ');
  return { problem: `${setting} "${name}" is not a known service (known: ${known})` };
}

/** Every problem with the delivery configuration, one human sentence each; [] when createSenders will succeed. */
export function validateSendersConfig(config: SendersConfig, providers = builtinProviders): string[] {
  const problems: string[] = [];
  if (config.timeoutMs !== undefined && !(Number.isInteger(config.timeoutMs) && config.timeoutMs > 0)) {
    problems.push('the delivery timeout must be a positive whole number of milliseconds');
  }
  const email = lookup(providers.email, 'EMAIL_SERVICE', config.emailService);
  const sms = lookup(providers.sms, 'SECURITY_SMS_SERVICE', config.smsService);
  for (const found of [email, sms]) {
    if (found.problem) problems.push(found.problem);
    if (found.provider?.check) problems.push(...found.provider.check(config));
  }
  return problems;
}

/**
 * Build both senders, or throw one Error naming every configuration problem
 * (the service must not start with a channel that cannot deliver).
 */
export function createSenders(config: SendersConfig, deps: SenderDeps, providers = builtinProviders): Senders {
  const problems = validateSendersConfig(config, providers);
  if (problems.length > 0) throw new Error(`Invalid delivery configuration: ${problems.join('; ')}`);
  const email = lookup(providers.email, 'EMAIL_SERVICE', config.emailService).provider;
  const sms = lookup(providers.sms, 'SECURITY_SMS_SERVICE', config.smsService).provider;
  // validateSendersConfig already reported unknown names; this narrows the types.
  if (!email || !sms) throw new Error('Invalid delivery configuration: unknown service');
  return { email: email.factory(config, deps), sms: sms.factory(config, deps) };
}
