import type { User } from '../users/users.repository.js';
import type { TfDeps } from '../two-factor/deps.js';

/**
 * Rescue choices offered to a pending sign-in (SPEC §3 /tf-rescue): help
 * always, e-mail when enabled, recovery codes when the user has unused ones.
 * Other features register how to tell whether a user has an option.
 */
export type OptionProbe = (deps: TfDeps, user: User) => Promise<Record<string, string>>;

const probes: OptionProbe[] = [];

export function addRecoveryOption(probe: OptionProbe): void {
  probes.push(probe);
}

export async function recoveryOptions(deps: TfDeps, user: User): Promise<Record<string, string>> {
  const options: Record<string, string> = { help: '/tf-rescue' };
  if (deps.config.SECURITY_TWO_FACTOR_RESCUE_EMAIL) options.email = '/tf-rescue';
  for (const probe of probes) Object.assign(options, await probe(deps, user));
  return options;
}
