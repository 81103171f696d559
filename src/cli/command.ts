import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { createAuditor } from '../audit/audit.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { createLogger } from '../logger.js';
import type { Operator, OperatorDeps } from '../operator/operator.js';

/** What every command is and receives (README, "Command line"); the commands are in commands.ts. */
export interface CommandContext {
  config: Config;
  db: Kysely<DB>;
  args: Record<string, string | boolean | undefined>;
  readStdin: () => Promise<string>;
  /** The service's logger when the command runs over its channel (audit lines go to its log); else silent. */
  logger?: Logger;
  clock?: Clock;
}

export type Options = Record<string, { type: 'string' | 'boolean'; description: string }>;

export interface Command {
  /** One line for `--help`. */
  description: string;
  usage: string;
  options: Options;
  /** Runs instead of `run`, without configuration or database (e.g. `admin:token`), never through the service. */
  local?: (args: CommandContext['args']) => string;
  /** The option a lone positional argument fills (`admin:token ops-alice`). */
  positional?: string;
  /** The options that positional arguments fill, in order (`users:require-2fa you@example.com on`). */
  positionals?: string[];
  run(ctx: CommandContext): Promise<string>;
}

export function requireString(args: CommandContext['args'], name: string): string {
  const v = args[name];
  if (typeof v !== 'string' || v === '') throw new Error(`--${name} is required`);
  return v;
}

/** The operator actions' dependencies, as the command line has them. */
export function operatorDeps(ctx: CommandContext): OperatorDeps {
  const clock = ctx.clock ?? systemClock;
  return { config: ctx.config, db: ctx.db, clock, audit: createAuditor(clock, ctx.logger ?? createLogger('silent')) };
}

/** The command line acts as operator `cli` (details.operator of its audit rows); user_agent says so too. */
export const CLI_OPERATOR: Operator = { name: 'cli', audit: { ip: null, userAgent: 'cli' } };

/** `--email`: the user a command acts on (an id works too). */
export const USER_OPTION = { email: { type: 'string', description: 'the user, by e-mail address or id' } } as const;
