// The in-process network of local mode: reliable and FIFO per sender and receiver, in real
// time. Envelopes queued during one event-loop turn are delivered together on the next
// (setImmediate), so a host never runs inside another host's call stack. Partitions and
// crashed hosts are still possible, on purpose, for tests and demos; they drop and count.
import type { Envelope } from '../types.ts';
import { countDrop } from '../types.ts';
import { linkKey, MemoryEndpoint, MemoryNetwork } from './memory-network.ts';

export class LocalNetwork extends MemoryNetwork<LocalEndpoint> {
  private queue: { env: Envelope; from: LocalEndpoint }[] = [];
  private scheduled = false;

  protected createEndpoint(host: string): LocalEndpoint {
    return new LocalEndpoint(host, this);
  }

  /** @internal */
  transmit(env: Envelope, from: LocalEndpoint): void {
    const to = env.to.host;
    if (this.down.has(from.host) || this.down.has(to)) return countDrop(from.counters, 'host-down');
    if (this.cuts.has(linkKey(from.host, to))) return countDrop(from.counters, 'partition');
    this.queue.push({ env, from });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const { env, from } of batch) {
      // Lost on the way (the receiver crashed or closed since the send): counted, like every loss.
      const to = this.endpoints.get(env.to.host)!;
      if (this.down.has(to.host)) countDrop(from.counters, 'host-down');
      else if (!to.listening) countDrop(from.counters, 'not-listening');
      else to.arrive(env, from.host);
    }
  };
}

export class LocalEndpoint extends MemoryEndpoint {
  readonly kind = 'memory-local' as const;
  readonly guarantees = { reliable: true, fifo: true };
}
