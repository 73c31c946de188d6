// The in-process network of local mode: reliable and FIFO per sender and receiver, in real
// time. Envelopes queued during one event-loop turn are delivered together on the next
// (setImmediate), so a host never runs inside another host's call stack. Partitions and
// crashed hosts are still possible, on purpose, for tests and demos; they drop and count.
import type { Envelope } from '../types.ts';
import { countDrop } from '../types.ts';
import { linkKey, MemoryEndpoint, MemoryNetwork } from './memory-network.ts';

export class LocalNetwork extends MemoryNetwork<LocalEndpoint> {
  // Envelopes waiting for the next turn and their senders, as parallel arrays: every message
  // between hosts passes here, so no wrapper object per envelope.
  private envs: Envelope[] = [];
  private froms: LocalEndpoint[] = [];
  private scheduled = false;

  protected createEndpoint(host: string): LocalEndpoint {
    return new LocalEndpoint(host, this);
  }

  /** @internal */
  transmit(env: Envelope, from: LocalEndpoint): void {
    const to = env.to.host;
    // Faults are rare: look them up only while there are any (a link key is a string to build).
    if (this.down.size > 0 && (this.down.has(from.host) || this.down.has(to))) return countDrop(from.counters, 'host-down');
    if (this.cuts.size > 0 && this.cuts.has(linkKey(from.host, to))) return countDrop(from.counters, 'partition');
    this.envs.push(env);
    this.froms.push(from);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const envs = this.envs;
    const froms = this.froms;
    this.envs = [];
    this.froms = [];
    for (let i = 0; i < envs.length; i++) {
      const env = envs[i]!;
      const from = froms[i]!;
      // Lost on the way (the receiver crashed or closed since the send): counted, like every loss.
      const to = this.endpoints.get(env.to.host)!;
      if (this.down.size > 0 && this.down.has(to.host)) countDrop(from.counters, 'host-down');
      else if (!to.listening) countDrop(from.counters, 'not-listening');
      else to.arrive(env, from.host);
    }
  };
}

export class LocalEndpoint extends MemoryEndpoint {
  readonly kind = 'memory-local' as const;
  readonly guarantees = { reliable: true, fifo: true };
}
