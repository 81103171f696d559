/**
 * Pluggable providers, as Flask-Security's SmsSenderFactory: a service name
 * from the configuration picks a factory. `log`, `sendgrid` (e-mail) and
 * `log`, `twilio` (SMS) are built in; others can be registered before
 * createSenders runs. Names are matched case-insensitively, so a
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

const emailProviders = new Map<string, Provider<EmailSenderFactory>>(Object.entries(builtinEmailProviders));
const smsProviders = new Map<string, Provider<SmsSenderFactory>>(Object.entries(builtinSmsProviders));

/** Add (or replace) an e-mail provider. `check` feeds validateSendersConfig. */
export function registerEmailSender(name: string, factory: EmailSenderFactory, check?: SenderConfigCheck): void {
  emailProviders.set(name.toLowerCase(), check ? { factory, check } : { factory });
}

/** Add (or replace) an SMS provider. `check` feeds validateSendersConfig. */
export function registerSmsSender(name: string, factory: SmsSenderFactory, check?: SenderConfigCheck): void {
  smsProviders.set(name.toLowerCase(), check ? { factory, check } : { factory });
}

function lookup<F>(
  providers: Map<string, Provider<F>>,
  setting: string,
  name: string,
): { provider?: Provider<F>; problem?: string } {
  const provider = providers.get(name.trim().toLowerCase());
  if (provider) return { provider };
  const known = [...providers.keys()].join(', ');
  return { problem: `${setting} "${name}" is not a known service (known: ${known})` };
}

/** Every problem with the delivery configuration, one human sentence each; [] when createSenders will succeed. */
export function validateSendersConfig(config: SendersConfig): string[] {
  const problems: string[] = [];
  if (config.timeoutMs !== undefined && !(Number.isInteger(config.timeoutMs) && config.timeoutMs > 0)) {
    problems.push('the delivery timeout must be a positive whole number of milliseconds');
  }
  const email = lookup(emailProviders, 'EMAIL_SERVICE', config.emailService);
  const sms = lookup(smsProviders, 'SECURITY_SMS_SERVICE', config.smsService);
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
export function createSenders(config: SendersConfig, deps: SenderDeps): Senders {
  const problems = validateSendersConfig(config);
  if (problems.length > 0) throw new Error(`Invalid delivery configuration: ${problems.join('; ')}`);
  const email = lookup(emailProviders, 'EMAIL_SERVICE', config.emailService).provider;
  const sms = lookup(smsProviders, 'SECURITY_SMS_SERVICE', config.smsService).provider;
  // validateSendersConfig already reported unknown names; this narrows the types.
  if (!email || !sms) throw new Error('Invalid delivery configuration: unknown service');
  return { email: email.factory(config, deps), sms: sms.factory(config, deps) };
}
