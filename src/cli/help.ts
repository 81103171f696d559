import type { Command } from './command.js';

/** `npm run cli -- --help`: every command with its description (README, "Command line" lists the same). */
export function cliHelp(commands: Record<string, Command>): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    'usage: npm run cli -- <command> [options]',
    '       npm run cli -- <command> --help',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.description}`),
    '',
    'On the embedded database a running service runs the command (over DATA_DIR/cli.sock);',
    'on Postgres (DATABASE_URL) the command works on the database directly.',
  ].join('\n');
}

/** `npm run cli -- <command> --help`. */
export function commandHelp(name: string, command: Command): string {
  const options = Object.entries(command.options);
  const width = Math.max(0, ...options.map(([n]) => n.length + 2));
  return [
    `usage: npm run cli -- ${name}${command.usage ? ` ${command.usage}` : ''}`,
    '',
    command.description,
    ...(options.length
      ? ['', 'options:', ...options.map(([n, o]) => `  ${`--${n}`.padEnd(width)}  ${o.description}`)]
      : []),
  ].join('\n');
}
