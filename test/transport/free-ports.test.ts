// freePorts: the ports of one call are distinct and free (a topology file once gave two hosts one
// address when ports were picked one at a time).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { freePorts } from '../../transport/free-ports.ts';

describe('freePorts', () => {
  for (const kind of ['tcp', 'udp'] as const) {
    it(`gives distinct ${kind} ports that can be bound`, async () => {
      const ports = await freePorts(kind, 40);
      assert.equal(ports.length, 40);
      assert.equal(new Set(ports).size, 40);
      // Each can be bound again now.
      for (const port of ports.slice(0, 5)) {
        await new Promise<void>((resolve, reject) => {
          if (kind === 'tcp') {
            const srv = createServer();
            srv.once('error', reject);
            srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
          } else {
            const sock = createSocket('udp4');
            sock.once('error', reject);
            sock.bind(port, '127.0.0.1', () => sock.close(() => resolve()));
          }
        });
      }
    });
  }
});
