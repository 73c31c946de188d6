// Local mode: the whole topology in one process, in real time. Each actor runs on a nact
// mailbox; hosts talk through the in-process network (reliable, FIFO). nact's own refs never
// leave this file: actors see only plain {host, path} refs, so a message can always be routed
// through a transport instead.
import { dispatch, spawn, start, stop as stopNact } from 'nact';
import { interval, map, type Observable } from 'rxjs';
import type { Cell, Mailbox } from './cell.ts';
import { MessageQueue, priorityOf } from './message-queue.ts';
import type { Address, Msg } from './ref.ts';
import { Runtime } from './runtime.ts';
import { ActorSystem, type Engine, type Receiver, type SystemOptions } from './system.ts';
import type { Topology } from './topology.ts';
import { LocalNetwork } from '../transport/memory/local-network.ts';
import type { Envelope, Transport } from '../transport/types.ts';
import type { LinkStats } from '../transport/memory/sim-network.ts';

type NactRef = ReturnType<typeof start>;

/** Every Nth message is timed, so busy time is known without a clock read per message. */
const TIMING_SAMPLE = 64;

/**
 * Messages handled per nact turn, at most. nact gives each actor one message per event-loop
 * turn (a setImmediate each); handing it a batch instead, as Akka's dispatcher `throughput`
 * does, pays that turn once per batch. Other actors still get their turn between batches.
 */
export const TURN_THROUGHPUT = 32;

const DRAIN: Msg = { type: '$drain' };

/**
 * An actor's mailbox in real time: the messages wait here, and nact schedules the turns in
 * which they are handled (one `$drain` message in nact's mailbox while any wait).
 */
class NactMailbox implements Mailbox {
  private readonly nactRef: NactRef;
  private readonly queue: MessageQueue;
  private scheduled = false;
  private closed = false;
  private count = 0;

  constructor(private readonly cell: Cell, nactSystem: NactRef, name: string) {
    this.queue = new MessageQueue(cell.behavior.mailbox, cell.metrics, priorityOf(cell));
    const handler = (state: unknown): unknown => {
      this.drain();
      return state;
    };
    this.nactRef = spawn(nactSystem, handler as never, name) as NactRef;
  }

  accept(msg: Msg, from: Address | undefined): void {
    if (this.closed) return;
    this.cell.metrics.received++;
    if (!this.queue.push(msg, from)) return;
    if (!this.scheduled) {
      this.scheduled = true;
      dispatch(this.nactRef, DRAIN);
    }
  }

  depth(): number {
    return this.queue.length;
  }

  close(): number {
    this.closed = true;
    stopNact(this.nactRef);
    return this.queue.clear();
  }

  private drain(): void {
    for (let n = 0; n < TURN_THROUGHPUT && !this.closed; n++) {
      const msg = this.queue.shift();
      if (msg === undefined) break;
      this.handle(msg, this.queue.from);
    }
    if (this.closed) return;
    // More wait: another turn, after the other actors' turns.
    if (this.queue.length > 0) dispatch(this.nactRef, DRAIN);
    else this.scheduled = false;
  }

  private handle(msg: Msg, from: Address | undefined): void {
    if ((++this.count & (TIMING_SAMPLE - 1)) === 0) {
      const t0 = performance.now();
      this.cell.process(msg, from);
      this.cell.metrics.busyMs += (performance.now() - t0) * TIMING_SAMPLE;
    } else {
      this.cell.process(msg, from);
    }
  }
}

export class RealTimeEngine implements Engine {
  private readonly t0 = performance.now();
  private readonly nactSystem: NactRef = start();
  private names = 0;
  /** Pending timers (actor timers, ask timeouts), cleared at shutdown so nothing outlives the run. */
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly mode: 'local' | 'distributed', private readonly transmitter: (env: Envelope, fromHost: string) => void,
    private readonly links: () => LinkStats[] = () => []) {}

  now(): number {
    return performance.now() - this.t0;
  }

  after(delayMs: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, delayMs);
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  post(receiver: Receiver, msg: Msg, from: Address | undefined, afterMs: number): void {
    // nact mailboxes are asynchronous already: no extra turn needed.
    if (afterMs > 0) this.after(afterMs, () => receiver.accept(msg, from));
    else receiver.accept(msg, from);
  }

  transmit(env: Envelope, fromHost: string): void {
    this.transmitter(env, fromHost);
  }

  createMailbox(cell: Cell): Mailbox {
    return new NactMailbox(cell, this.nactSystem, `a${++this.names}`);
  }

  linkStats(): LinkStats[] {
    return this.links();
  }

  shutdown(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    stopNact(this.nactSystem);
  }
}

export type LocalOptions = Partial<SystemOptions>;

export abstract class RealTimeRuntime extends Runtime {
  protected abstract readonly engine: RealTimeEngine;

  protected sampleEvery<T>(periodMs: number, sample: () => T): Observable<T> {
    return interval(periodMs).pipe(map(() => sample()));
  }

  async shutdown(): Promise<void> {
    for (const h of this.system.hosts.values()) {
      for (const r of [...h.receivers.values()]) (r as Partial<Cell>).stop?.('shutdown');
    }
    this.failPendingAsks();
    this.engine.shutdown();
  }
}

export class LocalRuntime extends RealTimeRuntime {
  readonly mode = 'local' as const;
  readonly network = new LocalNetwork();
  protected readonly engine: RealTimeEngine;

  constructor(topology: Topology, opts: LocalOptions) {
    const system = new ActorSystem({ seed: opts.seed ?? randomSeed(), trace: false, ...opts });
    super(system, topology);
    this.engine = new RealTimeEngine('local', (env, fromHost) => this.network.endpoint(fromHost).send(env));
    system.engine = this.engine;
    for (const h of topology.hosts) {
      system.addHost(h.name);
      void this.network.endpoint(h.name).start((env) => system.receive(env));
    }
    for (const a of topology.actors) system.spawn(a.host, a.path, a.behavior);
  }

  protected onHostChange(host: string, up: boolean): void {
    this.network.setHostUp(host, up);
  }

  cut(a: string, b: string): void {
    this.network.cut(a, b);
  }

  isolate(host: string): void {
    this.network.isolate(host, this.system.hosts.keys());
  }

  /** End every cut, or only the one between a and b. */
  heal(a?: string, b?: string): void {
    this.network.heal(a, b);
  }
}

/** Run a topology in local mode: one process, real time, nact mailboxes. */
export function runLocal(topology: Topology, opts: LocalOptions = {}): LocalRuntime {
  return new LocalRuntime(topology, opts);
}

export interface NodeOptions extends Partial<SystemOptions> {
  /** The transport of this host, already configured with its peers (not yet started). */
  readonly transport: Transport;
  /**
   * This host restarted after losing its state: its actors start with ctx.incarnation set to
   * this (> 0), as after a restart in sim, and recover from their peers. It must rise from one
   * restart to the next (the clock in ms does).
   */
  readonly incarnation?: number;
}

/** Distributed mode: one host of a topology in this process; the others are reached through the transport. */
export class NodeRuntime extends RealTimeRuntime {
  readonly mode = 'distributed' as const;
  protected readonly engine: RealTimeEngine;
  readonly transport: Transport;

  constructor(topology: Topology, readonly hostName: string, opts: NodeOptions) {
    const system = new ActorSystem({ seed: opts.seed ?? randomSeed(), trace: false, ...opts });
    super(system, topology);
    topology.hostSpec(hostName);
    this.transport = opts.transport;
    if (this.transport.host !== hostName) {
      throw new Error(`the transport speaks for host '${this.transport.host}', not '${hostName}'`);
    }
    this.engine = new RealTimeEngine('distributed', (env) => this.transport.send(env));
    system.engine = this.engine;
    system.localHost = hostName;
    system.addHost(hostName);
    if (opts.incarnation !== undefined) {
      if (!(Number.isSafeInteger(opts.incarnation) && opts.incarnation > 0)) throw new RangeError(`incarnation must be a positive integer, got ${opts.incarnation}`);
      system.host(hostName).incarnation = opts.incarnation;
    }
    for (const h of topology.hosts) if (h.name !== hostName) system.remoteHosts.add(h.name);
    this.transport.events.subscribe((ev) => {
      if (ev.type === 'peerDown') system.hostLost(ev.host);
    });
  }

  /** Start the transport, then this host's actors. */
  async start(): Promise<void> {
    await this.transport.start((env) => this.system.receive(env));
    for (const a of this.topology.actors) {
      if (a.host === this.hostName) this.system.spawn(a.host, a.path, a.behavior);
    }
  }

  protected onHostChange(): void {}

  override async shutdown(): Promise<void> {
    await super.shutdown();
    await this.transport.close();
  }
}

/** Run one host of a topology in this process, connected to the others by `opts.transport`. */
export async function runNode(topology: Topology, host: string, opts: NodeOptions): Promise<NodeRuntime> {
  const node = new NodeRuntime(topology, host, opts);
  await node.start();
  return node;
}

function randomSeed(): number {
  return (Math.random() * 0x7fffffff) | 0;
}
