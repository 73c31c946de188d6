// The UDP transport against the conformance suite every transport passes: two endpoints 'a' and
// 'b' on loopback, each told the other's port once it is bound. b's port comes from freePorts
// (outside the kernel's ephemeral range), as b restarts on it and nothing may take it meanwhile.
import { setTimeout as sleep } from 'node:timers/promises';
import { transportConformance, type TransportPair } from './conformance.ts';
import { UdpTransport } from '../../transport/udp/udp-transport.ts';
import type { DeliverFn } from '../../transport/types.ts';
import { freePort } from '../../transport/free-ports.ts';

const secret = Buffer.from('conformance-secret-0123456789abcdef');
const loopback = '127.0.0.1';

class UdpPair implements TransportPair {
  a: UdpTransport;
  b: UdpTransport;

  constructor(bPort: number) {
    this.a = this.introducedOnStart(new UdpTransport({ host: 'a', listen: { address: loopback, port: 0 }, secret }));
    this.b = this.introducedOnStart(new UdpTransport({ host: 'b', listen: { address: loopback, port: bPort }, secret }));
  }

  /** The suite starts the endpoints itself; only then are their ports known to give out. */
  private introducedOnStart(t: UdpTransport): UdpTransport {
    const start = t.start.bind(t);
    t.start = async (deliver: DeliverFn) => {
      await start(deliver);
      this.introduce();
    };
    return t;
  }

  private introduce(): void {
    for (const [from, to] of [[this.a, this.b], [this.b, this.a]] as const) {
      const port = boundPort(to);
      if (port !== undefined) from.setPeer(to.host, { address: loopback, port });
    }
  }

  settle(ms: number): Promise<void> {
    return sleep(ms);
  }

  async restartB(deliver: DeliverFn): Promise<UdpTransport> {
    const port = this.b.port;
    await this.b.close();
    this.b = new UdpTransport({ host: 'b', listen: { address: loopback, port }, secret });
    await this.b.start(deliver);
    this.introduce();
    return this.b;
  }

  async close(): Promise<void> {
    await Promise.all([this.a.close(), this.b.close()]);
  }
}

function boundPort(t: UdpTransport): number | undefined {
  try {
    return t.port;
  } catch {
    return undefined; // not started yet
  }
}

transportConformance('udp', async () => new UdpPair(await freePort('udp')));
