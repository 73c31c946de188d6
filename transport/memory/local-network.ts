// The in-process network of local mode: reliable and FIFO per sender and receiver, in real
// time. Envelopes queued during one event-loop turn are delivered together on the next
// (setImmediate), so a host never runs inside another host's call stack. Partitions and
// crashed hosts are still possible, on purpose, for tests and demos; they drop and count.
import { Subject } from 'rxjs';
import type { DeliverFn, Envelope, Transport, TransportEvent, TransportStats } from '../types.ts';
import { countDrop, emptyStats } from '../types.ts';
import { linkKey } from './sim-network.ts';

export class LocalNetwork {
  private readonly endpoints = new Map<string, LocalEndpoint>();
  private readonly cuts = new Set<string>();
  private readonly down = new Set<string>();
  private queue: { env: Envelope; from: LocalEndpoint }[] = [];
  private scheduled = false;

  endpoint(host: string): LocalEndpoint {
    let ep = this.endpoints.get(host);
    if (!ep) {
      ep = new LocalEndpoint(host, this);
      this.endpoints.set(host, ep);
    }
    return ep;
  }

  /**
   * A fresh endpoint for `host` in place of the current one, which is closed: a process that
   * restarted on the same address. Envelopes not yet delivered to `host` reach the new endpoint.
   */
  replaceEndpoint(host: string): LocalEndpoint {
    void this.endpoints.get(host)?.close();
    const ep = new LocalEndpoint(host, this);
    this.endpoints.set(host, ep);
    return ep;
  }

  cut(a: string, b: string): void {
    this.cuts.add(linkKey(a, b));
    this.cuts.add(linkKey(b, a));
  }

  isolate(host: string, others: Iterable<string>): void {
    for (const other of others) if (other !== host) this.cut(host, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  setHostUp(host: string, up: boolean): void {
    if (up) this.down.delete(host);
    else this.down.add(host);
  }

  isUp(host: string): boolean {
    return !this.down.has(host);
  }

  /** @internal */
  transmit(env: Envelope, from: LocalEndpoint): void {
    const to = this.endpoints.get(env.to.host);
    if (!to) return countDrop(from.counters, 'unknown-host');
    if (this.down.has(from.host) || this.down.has(to.host)) return countDrop(from.counters, 'host-down');
    if (this.cuts.has(linkKey(from.host, to.host))) return countDrop(from.counters, 'partition');
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

export class LocalEndpoint implements Transport {
  readonly kind = 'memory-local' as const;
  readonly guarantees = { reliable: true, fifo: true };
  private readonly subject = new Subject<TransportEvent>();
  readonly events = this.subject.asObservable();
  private deliver: DeliverFn | undefined;
  /** @internal */
  readonly counters: TransportStats = emptyStats();
  private closed = false;

  constructor(readonly host: string, private readonly network: LocalNetwork) {}

  /** Started and not closed: envelopes that arrive are delivered. */
  get listening(): boolean {
    return !this.closed && this.deliver !== undefined;
  }

  async start(deliver: DeliverFn): Promise<void> {
    this.deliver = deliver;
    this.closed = false;
  }

  send(env: Envelope): void {
    if (this.closed) return countDrop(this.counters, 'closed');
    this.counters.sentEnvelopes++;
    this.counters.sentFrames++;
    this.network.transmit(env, this);
  }

  /** @internal */
  arrive(env: Envelope, fromHost: string): void {
    if (this.closed || !this.deliver) return;
    this.counters.receivedEnvelopes++;
    this.counters.receivedFrames++;
    this.deliver(env, fromHost);
  }

  stats(): TransportStats {
    return { ...this.counters, dropped: { ...this.counters.dropped }, rejected: {} };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deliver = undefined;
  }
}
