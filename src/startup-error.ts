/**
 * A start-up failure the operator can fix from its message alone (a port in
 * use): server.ts prints the message as one line and exits 1, no stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
