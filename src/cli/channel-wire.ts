import { relative } from 'node:path';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { SOCKET_FILE } from '../db/data-dir-lock.js';

/**
 * The command channel's wire format: one JSON object per line, both ways.
 *   cli → service  {"type":"run","command":"users:create","args":{...}}
 *   service → cli  {"type":"stdin"}                 the command reads standard input
 *   cli → service  {"type":"stdin","data":"..."}
 *   service → cli  {"type":"result","ok":true,"output":"..."} | {"type":"result","ok":false,"error":"...","usage":false}
 * Standard input is asked for only when a command reads it, as the direct path does.
 */
export type Message =
  | { type: 'run'; command: string; args: Record<string, unknown> }
  | { type: 'stdin'; data?: string }
  | { type: 'result'; ok: true; output: string; pid: number }
  | { type: 'result'; ok: false; error: string; usage: boolean; pid: number };

/** Far above any command's input (a password is at most 4096 characters). */
const MAX_LINE = 1024 * 1024;

export function send(socket: Socket, message: Message): void {
  socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` for each line; a line that is not JSON or too long ends the connection. */
export function receive(socket: Socket, onMessage: (m: Message) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        socket.destroy(new Error('the command channel received a line that is not JSON'));
        return;
      }
      onMessage(message);
    }
    if (buffered.length > MAX_LINE) socket.destroy(new Error('the command channel received a line too long'));
  });
}

/**
 * The socket's path. A Unix socket path holds at most ~107 bytes; a deep
 * DATA_DIR is reached relative to the working directory instead when shorter.
 */
export function socketPath(dir: string): string {
  const absolute = join(dir, SOCKET_FILE);
  if (Buffer.byteLength(absolute) < 100) return absolute;
  const rel = relative(process.cwd(), absolute);
  return Buffer.byteLength(rel) < Buffer.byteLength(absolute) ? rel : absolute;
}
