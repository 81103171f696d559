import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { checkRequest, CommandUsageError, type CommandRequest } from './run-command.js';
import { receive, send, socketPath } from './channel-wire.js';

/**
 * The service's command channel (README, "Command line"): while the service
 * owns the embedded data folder, `npm run cli` runs its commands here, in the
 * process that holds the database, instead of opening the folder a second
 * time. A Unix socket inside DATA_DIR, mode 0600 in a folder only its owner
 * may write (data-dir-lock.ts checks it): only the folder's owner can connect.
 * It is not on any TCP port.
 */
export interface CommandChannel {
  path: string;
  close(): Promise<void>;
}

export type RunOverChannel = (req: CommandRequest, readStdin: () => Promise<string>) => Promise<string>;

export async function serveCommands(opts: {
  dir: string;
  run: RunOverChannel;
  logger: Logger;
}): Promise<CommandChannel> {
  const path = socketPath(opts.dir);
  // We own the folder (the caller holds its lock): a socket file here is a dead owner's.
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) unlinkSync(path);
  const server = createServer((socket) => serve(socket, opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The socket file is created with the umask's mode; 0177 makes it 0600 from the start.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, 0o600);
  opts.logger.info({ socket: path }, 'command channel ready for `npm run cli`');
  return { path, close: () => closeServer(server) };
}

function serve(socket: Socket, opts: { run: RunOverChannel; logger: Logger }): void {
  let stdinWaiter: ((data: string) => void) | undefined;
  let started = false;
  socket.on('error', () => {}); // a client that went away; nothing to answer
  receive(socket, (message) => {
    if (message.type === 'stdin' && stdinWaiter) {
      stdinWaiter(typeof message.data === 'string' ? message.data : '');
      stdinWaiter = undefined;
      return;
    }
    if (message.type !== 'run' || started) {
      socket.destroy();
      return;
    }
    started = true;
    const readStdin = () =>
      new Promise<string>((resolve) => {
        stdinWaiter = resolve;
        send(socket, { type: 'stdin' });
      });
    void execute(message, readStdin, opts).then((result) => socket.end(`${JSON.stringify(result)}\n`));
  });
}

async function execute(
  message: unknown,
  readStdin: () => Promise<string>,
  opts: { run: RunOverChannel; logger: Logger },
): Promise<Parameters<typeof send>[1]> {
  let req: CommandRequest | undefined;
  try {
    req = checkRequest(message);
    const output = await opts.run(req, readStdin);
    opts.logger.info({ command: req.command }, 'command line: command done');
    return { type: 'result', ok: true, output, pid: process.pid };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    opts.logger.info({ command: req?.command, error }, 'command line: command failed');
    return { type: 'result', ok: false, error, usage: err instanceof CommandUsageError, pid: process.pid };
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
