import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { formatMessage, ValidationError } from '../errors.js';
import { migrateToLatest } from '../db/migrate.js';
import type { DB } from '../db/types.js';
import { commands, type CommandContext } from './commands.js';

/**
 * One operator command, as the command line runs it directly and as the
 * service runs it for the command line over its channel (channel.ts): the same
 * command bodies either way. A later HTTP operator API can call this too.
 */
export interface CommandRequest {
  command: string;
  args: CommandContext['args'];
}

/** A request naming no command or arguments the command does not take. */
export class CommandUsageError extends Error {}

/** Checks a request from outside the process (the channel) against the command's declared options. */
export function checkRequest(value: unknown): CommandRequest {
  const req = value as Partial<CommandRequest> | null;
  const command = typeof req?.command === 'string' ? commands[req.command] : undefined;
  if (!command || !req || typeof req.command !== 'string') throw new CommandUsageError('unknown command');
  if (command.local) throw new CommandUsageError(`${req.command} runs on its own, not through the service`);
  const args: CommandContext['args'] = {};
  for (const [name, v] of Object.entries(req.args ?? {})) {
    const option = command.options[name];
    if (!option || (option.type === 'string' ? typeof v !== 'string' : typeof v !== 'boolean'))
      throw new CommandUsageError(`${req.command} takes no --${name} of that type`);
    args[name] = v as string | boolean;
  }
  return { command: req.command, args };
}

export async function runCommand(
  req: CommandRequest,
  ctx: { config: Config; db: Kysely<DB>; readStdin: () => Promise<string>; logger?: Logger },
): Promise<string> {
  const command = commands[req.command];
  if (!command) throw new CommandUsageError(`unknown command ${req.command}`);
  // `migrate` and every other command find the schema up to date, whichever way they came.
  await migrateToLatest(ctx.db as never);
  try {
    return await command.run({ ...ctx, args: req.args });
  } catch (err) {
    // The services' field errors, as one line an operator reads (the API sends them as field_errors).
    if (err instanceof ValidationError)
      throw new Error(err.fields.map((f) => `${f.field || 'input'}: ${formatMessage(f.key, f.params)}`).join('; '), {
        cause: err,
      });
    throw err;
  }
}
