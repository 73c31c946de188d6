// Ports free on 127.0.0.1 now, for processes about to be started on them. Each is found by
// binding to port 0; the sockets of one call stay bound until all are found, so that one call
// never returns the same port twice (one at a time, the kernel could hand the same port out
// again once it was released: a topology file then gave two hosts one address).
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

export type PortKind = 'tcp' | 'udp';

function bindAny(kind: PortKind): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    if (kind === 'tcp') {
      const srv: Server = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        resolve({ port, close: () => new Promise((done) => srv.close(() => done())) });
      });
      return;
    }
    const sock: Socket = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      resolve({ port, close: () => new Promise((done) => sock.close(() => done())) });
    });
  });
}

/** `count` distinct ports free on 127.0.0.1 right now. */
export async function freePorts(kind: PortKind, count: number): Promise<number[]> {
  const held = [];
  try {
    for (let i = 0; i < count; i++) held.push(await bindAny(kind));
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => h.close()));
  }
}

/** One port free on 127.0.0.1 right now. */
export async function freePort(kind: PortKind): Promise<number> {
  return (await freePorts(kind, 1))[0]!;
}
