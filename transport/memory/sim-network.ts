// The simulated network of sim mode. Every envelope between hosts passes through it and meets
// the faults a real network has, decided by the run's seed: latency (per link, with jitter,
// which also reorders), bandwidth (serialisation delay and queueing per directed link), drops,
// duplicates, partitions, crashed hosts, and scripted filters for exact scenarios
// ("drop the 3rd request to replica 2"). Nothing is hidden: every loss is counted by reason.
import type { Envelope } from '../types.ts';
import { linkKey, MemoryEndpoint, MemoryNetwork } from './memory-network.ts';

export { linkKey };

/** The part of the simulator's scheduler the network needs. */
export interface Clock {
  now(): number;
  schedule(delayMs: number, run: () => void): unknown;
}

export interface LinkOptions {
  /** One-way base latency. Default 0.05 ms (a rack). */
  readonly latencyMs?: number;
  /** Uniform extra delay in [0, jitterMs): packets may overtake each other. Default 0. */
  readonly jitterMs?: number;
  /** Link rate; when set, a message of n bytes occupies the link n*8/rate and later ones queue. */
  readonly bandwidthMbps?: number;
  /** Probability that an envelope is lost. */
  readonly dropRate?: number;
  /** Probability that an envelope is delivered twice. */
  readonly duplicateRate?: number;
}

export interface FilterInfo {
  readonly fromHost: string;
  readonly toHost: string;
  readonly nowMs: number;
}

/** A scripted fault: look at an envelope in flight and decide its fate. */
export type FilterVerdict = 'deliver' | 'drop' | { readonly delayMs: number };
export type PacketFilter = (env: Envelope, info: FilterInfo) => FilterVerdict;

export interface LinkStats {
  readonly from: string;
  readonly to: string;
  sent: number;
  delivered: number;
  duplicated: number;
  bytes: number;
  dropped: Record<string, number>;
}

export interface SimNetworkOptions {
  readonly clock: Clock;
  /** The network's own seeded stream. */
  readonly random: () => number;
  /** Applied to every link without its own options. */
  readonly defaults?: LinkOptions;
  /** Size of a message for bandwidth accounting; default: its `sizeBytes` field or 100. */
  readonly sizeOf?: (env: Envelope) => number;
}

const DEFAULT_LINK: Required<Omit<LinkOptions, 'bandwidthMbps'>> & { bandwidthMbps: number | undefined } = {
  latencyMs: 0.05, jitterMs: 0, bandwidthMbps: undefined, dropRate: 0, duplicateRate: 0,
};

/** Everything about one direction of one link, cached so the hot path does no string work. */
interface DirectedLink {
  readonly stats: LinkStats;
  /** Options and cut flag as of `version`; recomputed when the network's configuration changes. */
  options: LinkOptions;
  cut: boolean;
  version: number;
  freeAtMs: number;
}

export class SimNetwork extends MemoryNetwork<SimEndpoint> {
  private readonly clock: Clock;
  private readonly random: () => number;
  private defaults: LinkOptions;
  private readonly links = new Map<string, LinkOptions>();
  private readonly directed = new Map<string, Map<string, DirectedLink>>();
  private readonly filters: PacketFilter[] = [];
  private readonly sizeOf: (env: Envelope) => number;

  constructor(opts: SimNetworkOptions) {
    super();
    this.clock = opts.clock;
    this.random = opts.random;
    this.defaults = { ...opts.defaults };
    this.sizeOf = opts.sizeOf ?? defaultSize;
  }

  protected createEndpoint(host: string): SimEndpoint {
    return new SimEndpoint(host, this);
  }

  /** Options for both directions between a and b (or one direction with `oneWay`). */
  setLink(a: string, b: string, opts: LinkOptions, oneWay = false): void {
    this.links.set(linkKey(a, b), { ...this.links.get(linkKey(a, b)), ...opts });
    if (!oneWay) this.links.set(linkKey(b, a), { ...this.links.get(linkKey(b, a)), ...opts });
    this.version++;
  }

  /** Change the options every link without its own starts from. */
  setDefaults(opts: LinkOptions): void {
    this.defaults = { ...this.defaults, ...opts };
    this.version++;
  }

  link(from: string, to: string): LinkOptions {
    return { ...DEFAULT_LINK, ...this.defaults, ...this.links.get(linkKey(from, to)) };
  }

  /** Add a scripted filter; returns a function that removes it. Filters run in order added. */
  addFilter(filter: PacketFilter): () => void {
    this.filters.push(filter);
    return () => {
      const i = this.filters.indexOf(filter);
      if (i >= 0) this.filters.splice(i, 1);
    };
  }

  clearFilters(): void {
    this.filters.length = 0;
  }

  stats(): LinkStats[] {
    const out: LinkStats[] = [];
    for (const m of this.directed.values()) for (const l of m.values()) out.push({ ...l.stats, dropped: { ...l.stats.dropped } });
    return out;
  }

  /** @internal the endpoints call this. */
  transmit(env: Envelope, from: SimEndpoint): void {
    const fromHost = from.host;
    const toHost = env.to.host;
    const link = this.directedLink(fromHost, toHost);
    const stats = link.stats;
    stats.sent++;
    if (this.down.size > 0 && (this.down.has(fromHost) || this.down.has(toHost))) return this.drop(stats, 'host-down');
    if (link.cut) return this.drop(stats, 'partition');
    let extraDelayMs = 0;
    for (let i = 0; i < this.filters.length; i++) {
      const verdict = this.filters[i]!(env, { fromHost, toHost, nowMs: this.clock.now() });
      if (verdict === 'drop') return this.drop(stats, 'filter');
      if (verdict !== 'deliver') extraDelayMs += verdict.delayMs;
    }
    const opts = link.options;
    if (opts.dropRate && this.random() < opts.dropRate) return this.drop(stats, 'random-loss');
    const copies = opts.duplicateRate && this.random() < opts.duplicateRate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.delayFor(env, link) + extraDelayMs;
      this.clock.schedule(delayMs, () => this.arrive(env, fromHost, toHost, stats));
    }
  }

  private directedLink(from: string, to: string): DirectedLink {
    let byTo = this.directed.get(from);
    if (!byTo) this.directed.set(from, (byTo = new Map()));
    let l = byTo.get(to);
    if (!l) {
      l = { stats: { from, to, sent: 0, delivered: 0, duplicated: 0, bytes: 0, dropped: {} }, options: {}, cut: false, version: -1, freeAtMs: 0 };
      byTo.set(to, l);
    }
    if (l.version !== this.version) {
      l.options = this.link(from, to);
      l.cut = this.cuts.has(linkKey(from, to));
      l.version = this.version;
    }
    return l;
  }

  private delayFor(env: Envelope, link: DirectedLink): number {
    const opts = link.options;
    let delayMs = opts.latencyMs ?? DEFAULT_LINK.latencyMs;
    if (opts.jitterMs) delayMs += this.random() * opts.jitterMs;
    if (opts.bandwidthMbps) {
      const sizeBytes = this.sizeOf(env);
      link.stats.bytes += sizeBytes;
      // Serialisation: the link sends one message at a time; a busy link queues.
      const now = this.clock.now();
      const start = Math.max(now, link.freeAtMs);
      const wireMs = (sizeBytes * 8) / (opts.bandwidthMbps * 1000);
      link.freeAtMs = start + wireMs;
      delayMs += start - now + wireMs;
    }
    return delayMs;
  }

  private arrive(env: Envelope, fromHost: string, toHost: string, stats: LinkStats): void {
    // The receiver may have crashed, closed or been replaced while the envelope was in flight.
    if (this.down.has(toHost)) return this.drop(stats, 'host-down');
    const target = this.endpoints.get(toHost)!;
    if (!target.listening) return this.drop(stats, 'not-listening');
    stats.delivered++;
    target.arrive(env, fromHost);
  }

  private drop(stats: LinkStats, reason: string): void {
    stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
  }
}

/** One host's view of the simulated network, as a Transport. */
export class SimEndpoint extends MemoryEndpoint {
  readonly kind = 'memory-sim' as const;
  readonly guarantees = { reliable: false, fifo: false };
}

function defaultSize(env: Envelope): number {
  const declared = (env.msg as { sizeBytes?: unknown }).sizeBytes;
  return typeof declared === 'number' && declared > 0 ? declared : 100;
}
