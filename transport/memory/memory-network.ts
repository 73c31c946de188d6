// What the two in-process networks share: endpoints by host name (replaceable, as when a
// process restarts on the same address), partitions and crashed hosts. They differ in how an
// envelope travels: the simulated network schedules it in virtual time with faults, the local
// one delivers it reliably on the next event-loop turn.
import { Subject } from 'rxjs';
import type { DeliverFn, DeliveryGuarantees, Envelope, Transport, TransportEvent, TransportKind, TransportStats } from '../types.ts';
import { countDrop, emptyStats } from '../types.ts';

export function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

export abstract class MemoryNetwork<E extends MemoryEndpoint> {
  protected readonly endpoints = new Map<string, E>();
  protected readonly cuts = new Set<string>();
  protected readonly down = new Set<string>();
  /** Bumped on every change of partitions (and, in the simulator, of link options). */
  protected version = 0;

  protected abstract createEndpoint(host: string): E;

  /** @internal an endpoint hands over an envelope it sends. */
  abstract transmit(env: Envelope, from: E): void;

  /** The Transport of one host on this network. */
  endpoint(host: string): E {
    let ep = this.endpoints.get(host);
    if (!ep) {
      ep = this.createEndpoint(host);
      this.endpoints.set(host, ep);
    }
    return ep;
  }

  /**
   * A fresh endpoint for `host` in place of the current one, which is closed: a process that
   * restarted on the same address. Envelopes still on their way to `host` reach the new one.
   */
  replaceEndpoint(host: string): E {
    void this.endpoints.get(host)?.close();
    const ep = this.createEndpoint(host);
    this.endpoints.set(host, ep);
    return ep;
  }

  /** True for a host that has an endpoint on this network. */
  isKnown(host: string): boolean {
    return this.endpoints.has(host);
  }

  /** Partition a from b, both directions. */
  cut(a: string, b: string): void {
    this.cuts.add(linkKey(a, b));
    this.cuts.add(linkKey(b, a));
    this.version++;
  }

  /** Cut `host` off from every other host. */
  isolate(host: string, others: Iterable<string>): void {
    for (const other of others) if (other !== host) this.cut(host, other);
  }

  /** Remove every partition, or only the one between a and b (both directions). */
  heal(a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) {
      this.cuts.delete(linkKey(a, b));
      this.cuts.delete(linkKey(b, a));
    } else {
      this.cuts.clear();
    }
    this.version++;
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(linkKey(from, to));
  }

  /** A crashed host neither sends nor receives; envelopes on their way to it are lost. */
  setHostUp(host: string, up: boolean): void {
    if (up) this.down.delete(host);
    else this.down.add(host);
  }

  isUp(host: string): boolean {
    return !this.down.has(host);
  }
}

/** One host's view of an in-process network, as a Transport. */
export abstract class MemoryEndpoint implements Transport {
  abstract readonly kind: TransportKind;
  abstract readonly guarantees: DeliveryGuarantees;
  private readonly subject = new Subject<TransportEvent>();
  readonly events = this.subject.asObservable();
  private deliver: DeliverFn | undefined;
  /** @internal */
  readonly counters: TransportStats = emptyStats();
  private closed = false;

  constructor(readonly host: string, private readonly network: MemoryNetwork<MemoryEndpoint>) {}

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
    if (!this.network.isKnown(env.to.host)) return countDrop(this.counters, 'unknown-host');
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
