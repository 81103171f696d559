import { connect } from 'node:net';
import type { CommandRequest } from './run-command.js';
import { receive, send, socketPath, type Message } from './channel-wire.js';

export type ChannelResult = Extract<Message, { type: 'result' }>;

/** The service holds the folder but does not answer on its socket (yet: it may still be starting). */
export class ChannelUnavailableError extends Error {
  constructor(readonly code: string) {
    super(`the service's command channel does not answer (${code})`);
  }
}

/** Runs one command in the service that owns `dir`, answering its request for standard input. */
export function runViaService(
  dir: string,
  req: CommandRequest,
  readStdin: () => Promise<string>,
): Promise<ChannelResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath(dir));
    let result: ChannelResult | undefined;
    socket.once('connect', () => send(socket, { type: 'run', command: req.command, args: req.args }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new ChannelUnavailableError(err.code));
      else reject(err);
    });
    receive(socket, (message) => {
      if (message.type === 'stdin') void readStdin().then((data) => send(socket, { type: 'stdin', data }), reject);
      else if (message.type === 'result') result = message;
    });
    socket.on('close', () => {
      if (result) resolve(result);
      else reject(new Error('the service closed the command channel without an answer (see its log)'));
    });
  });
}
