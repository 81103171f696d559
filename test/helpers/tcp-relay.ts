/**
 * A TCP relay between the service and Postgres, standing in for the network:
 * it forwards, hangs up on every new connection, or accepts and never answers.
 * Tests switch it to show what the service does when the database's host is
 * there but the database is not, and that it recovers when it is back.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type RelayMode = 'forward' | 'hang-up' | 'silent';

export interface TcpRelay {
  port: number;
  mode: RelayMode;
  /** Ends every connection it holds (the database going away under open connections). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }, port = 0): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const relay: TcpRelay = {
    port: 0,
    mode: 'forward',
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () =>
      new Promise<void>((resolve) => {
        relay.cut();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((client) => {
    track(client);
    if (relay.mode === 'hang-up') return void client.destroy();
    if (relay.mode === 'silent') return;
    const upstream = createConnection(target);
    track(upstream);
    client.pipe(upstream).pipe(client);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  relay.port = (server.address() as { port: number }).port;
  return relay;
}
