import type { Config } from '../config.js';

/**
 * The rescue choices offered to a pending sign-in (openapi.yaml /tf-rescue):
 * help always, e-mail when enabled, and what each feature that can rescue a
 * sign-in offers for this user (recovery codes, when the user has unused ones).
 * The features' probes are passed in by buildApp.
 */
export type OptionProbe = (user: { id: number }) => Promise<Record<string, string>>;
export type RescueOptions = (user: { id: number }) => Promise<Record<string, string>>;

export function rescueOptions(
  config: Pick<Config, 'SECURITY_TWO_FACTOR_RESCUE_EMAIL'>,
  probes: readonly OptionProbe[],
): RescueOptions {
  return async (user) => {
    const options: Record<string, string> = { help: '/tf-rescue' };
    if (config.SECURITY_TWO_FACTOR_RESCUE_EMAIL) options.email = '/tf-rescue';
    for (const probe of probes) Object.assign(options, await probe(user));
    return options;
  };
}
