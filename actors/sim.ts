// Sim mode: the whole topology in one process under the deterministic scheduler. Virtual time
// moves only when the next event is due, so a run is as fast as the CPU and, for one seed,
// always the same, byte for byte (see the trace hash).
import { Observable, Subject } from 'rxjs';
import type { Cell, Mailbox } from './cell.ts';
import { MessageQueue, priorityOf } from './message-queue.ts';
import { hash32, seededRandom } from './random.ts';
import type { Address, Msg } from './ref.ts';
import { Runtime } from './runtime.ts';
import { SimScheduler, type SimEvent } from './scheduler.ts';
import { ActorSystem, type Engine, type Receiver, type SystemOptions } from './system.ts';
import type { Topology } from './topology.ts';
import { SimNetwork, type LinkOptions } from '../transport/memory/sim-network.ts';
import type { Envelope } from '../transport/types.ts';

export interface SimOptions extends Partial<SystemOptions> {
  readonly seed: number;
  /** Options of every link the topology does not describe. */
  readonly network?: LinkOptions;
}

export interface RunLimits {
  /** Stop after this much virtual time from now. */
  readonly maxMs?: number;
  /** Stop after this many events (a guard against livelock). Default 50 million. */
  readonly maxEvents?: number;
}

const DEFAULT_MAX_EVENTS = 50_000_000;

class SimMailbox implements Mailbox {
  private readonly queue: MessageQueue;
  private busyUntilMs = 0;
  private drainScheduled = false;
  private processing = false;
  private closed = false;

  constructor(private readonly cell: Cell, private readonly scheduler: SimScheduler) {
    this.queue = new MessageQueue(cell.behavior.mailbox, cell.metrics, priorityOf(cell));
  }

  accept(msg: Msg, from: Address | undefined): void {
    if (this.closed) return;
    this.cell.metrics.received++;
    // Idle and nothing waiting: handle it now (we are inside the event that delivered it).
    if (!this.drainScheduled && !this.processing && this.queue.length === 0 && this.scheduler.now() >= this.busyUntilMs) {
      this.run(msg, from);
      return;
    }
    if (this.queue.push(msg, from) && !this.drainScheduled) this.scheduleDrain();
  }

  depth(): number {
    return this.queue.length;
  }

  close(): number {
    this.closed = true;
    return this.queue.clear();
  }

  /** Process nothing before `t` (a paused host): what arrives meanwhile, timers' messages too, waits. */
  pauseUntil(t: number): void {
    this.busyUntilMs = Math.max(this.busyUntilMs, t);
  }

  private run(msg: Msg, from: Address | undefined): void {
    this.processing = true;
    this.cell.process(msg, from);
    this.processing = false;
    const costMs = this.cell.serviceTimeMs(msg);
    if (costMs > 0) {
      this.busyUntilMs = this.scheduler.now() + costMs;
      this.cell.metrics.busyMs += costMs;
    }
  }

  private scheduleDrain(): void {
    this.drainScheduled = true;
    this.scheduler.schedule(Math.max(0, this.busyUntilMs - this.scheduler.now()), () => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    if (this.closed) return;
    if (this.scheduler.now() < this.busyUntilMs) {
      // Paused since this drain was scheduled.
      this.scheduleDrain();
      return;
    }
    const msg = this.queue.shift();
    if (msg === undefined) return;
    this.run(msg, this.queue.from);
    if (this.queue.length > 0 && !this.drainScheduled) this.scheduleDrain();
  }
}

/** A message on its way to a receiver on the same host: an event that is its own delivery (no closure). */
class Delivery implements SimEvent {
  time = 0;
  seq = 0;
  cancelled = false;

  constructor(private readonly receiver: Receiver, private readonly msg: Msg, private readonly from: Address | undefined) {}

  run(): void {
    this.receiver.accept(this.msg, this.from);
  }
}

class SimEngine implements Engine {
  readonly mode = 'sim' as const;
  constructor(readonly scheduler: SimScheduler, readonly network: SimNetwork) {}

  now(): number {
    return this.scheduler.now();
  }

  after(delayMs: number, fn: () => void): () => void {
    const ev = this.scheduler.schedule(delayMs, fn);
    return () => { ev.cancelled = true; };
  }

  post(receiver: Receiver, msg: Msg, from: Address | undefined, afterMs: number): void {
    this.scheduler.add(afterMs, new Delivery(receiver, msg, from));
  }

  transmit(env: Envelope, fromHost: string): void {
    this.network.endpoint(fromHost).send(env);
  }

  createMailbox(cell: Cell): Mailbox {
    return new SimMailbox(cell, this.scheduler);
  }

  linkStats() {
    return this.network.stats();
  }
}

export class SimRuntime extends Runtime {
  readonly mode = 'sim' as const;
  readonly scheduler: SimScheduler;
  readonly network: SimNetwork;
  private readonly stepHooks: (() => void)[] = [];
  private readonly samplers: { periodMs: number; nextMs: number; emit: () => void }[] = [];

  constructor(topology: Topology, opts: SimOptions) {
    const system = new ActorSystem({ trace: true, ...opts });
    super(system, topology);
    this.scheduler = new SimScheduler();
    const rng = seededRandom(opts.seed, '$network');
    this.network = new SimNetwork({ clock: this.scheduler, random: rng.next, defaults: opts.network });
    system.engine = new SimEngine(this.scheduler, this.network);
    for (const h of topology.hosts) {
      system.addHost(h.name);
      void this.network.endpoint(h.name).start((env) => system.receive(env));
    }
    for (const l of topology.links) this.network.setLink(l.a, l.b, l.options);
    for (const a of topology.actors) system.spawn(a.host, a.path, a.behavior);
  }

  /** Run every event due within the next `ms` of virtual time, then move the clock there. */
  advance(ms: number): void {
    const until = this.scheduler.now() + ms;
    this.loop(until, DEFAULT_MAX_EVENTS, () => false);
    this.sampleThrough(until);
    this.scheduler.advanceTo(until);
  }

  /**
   * Run until no event is left (or a limit is hit). Returns whether the system went idle;
   * a repeating timer keeps a system busy forever, so give `maxMs` for such topologies.
   */
  runUntilIdle(limits: RunLimits = {}): { idle: boolean; events: number } {
    const start = this.scheduler.executed;
    const until = limits.maxMs === undefined ? Infinity : this.scheduler.now() + limits.maxMs;
    this.loop(until, limits.maxEvents ?? DEFAULT_MAX_EVENTS, () => false);
    return { idle: this.scheduler.nextTime() === undefined, events: this.scheduler.executed - start };
  }

  /** Run until `done()` holds, checking after every event. Returns whether it did within `withinMs`. */
  runUntil(done: () => boolean, withinMs: number, maxEvents = DEFAULT_MAX_EVENTS): boolean {
    if (done()) return true;
    const until = this.scheduler.now() + withinMs;
    const ok = this.loop(until, maxEvents, done);
    // Nothing more was due before the deadline: the whole wait has passed.
    if (!ok) {
      this.sampleThrough(until);
      this.scheduler.advanceTo(until);
    }
    return ok;
  }

  /** Call `check` after every event: for invariants that must hold at every step. */
  onStep(check: () => void): () => void {
    this.stepHooks.push(check);
    return () => {
      const i = this.stepHooks.indexOf(check);
      if (i >= 0) this.stepHooks.splice(i, 1);
    };
  }

  /** Crash a host: its actors lose all state and the network drops everything to and from it. */
  protected onHostChange(host: string, up: boolean): void {
    this.network.setHostUp(host, up);
  }

  cut(a: string, b: string): void {
    this.system.trace?.note(`cut ${a} ${b} @${this.now()}`);
    this.network.cut(a, b);
  }

  isolate(host: string): void {
    this.system.trace?.note(`isolate ${host} @${this.now()}`);
    this.network.isolate(host, this.system.hosts.keys());
  }

  /**
   * Pause a host for `ms`: its actors process nothing meanwhile (a stopped process, a long
   * garbage collection), and what reaches them, their timers' messages too, waits in their
   * mailboxes, handled in order once the pause is over. Unlike a crash, nothing is lost.
   */
  pause(host: string, ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`pause: ms must be >= 0, got ${ms}`);
    const h = this.system.hosts.get(host);
    if (!h) throw new Error(`pause: no host '${host}'`);
    this.system.trace?.note(`pause ${host} ${ms} @${this.now()}`);
    const until = this.now() + ms;
    for (const r of h.receivers.values()) {
      const mb = (r as Partial<Cell>).mailbox;
      if (mb instanceof SimMailbox) mb.pauseUntil(until);
    }
  }

  /** End every cut, or only the one between a and b. */
  heal(a?: string, b?: string): void {
    this.system.trace?.note(a !== undefined && b !== undefined ? `heal ${a} ${b} @${this.now()}` : `heal @${this.now()}`);
    this.network.heal(a, b);
  }

  async shutdown(): Promise<void> {
    for (const h of this.system.hosts.values()) {
      for (const r of [...h.receivers.values()]) (r as Partial<Cell>).stop?.('shutdown');
    }
  }

  protected sampleEvery<T>(periodMs: number, sample: () => T): Observable<T> {
    return new Observable<T>((sub) => {
      const s = { periodMs, nextMs: this.now() + periodMs, emit: () => sub.next(sample()) };
      this.samplers.push(s);
      return () => {
        const i = this.samplers.indexOf(s);
        if (i >= 0) this.samplers.splice(i, 1);
      };
    });
  }

  private loop(untilMs: number, maxEvents: number, done: () => boolean): boolean {
    const sched = this.scheduler;
    const hooks = this.stepHooks;
    for (let n = 0; n < maxEvents; n++) {
      if (this.samplers.length > 0) {
        // Samples due before the next event see the state as it is at their own time.
        const next = sched.nextTime();
        if (next !== undefined && next <= untilMs) this.sampleThrough(next, false);
      }
      if (!sched.step(untilMs)) return false;
      for (let i = 0; i < hooks.length; i++) hooks[i]!();
      if (done()) return true;
    }
    throw new Error(`simulation did not settle within ${maxEvents} events (seed ${this.seed}, at ${this.now()} ms)`);
  }

  /**
   * Emit every sample due up to `limitMs` (inclusive, or before it), in time order, each with
   * the clock moved to its own time: nothing else is due before `limitMs`, so a snapshot at
   * time t shows exactly the state after every event at or before t.
   */
  private sampleThrough(limitMs: number, inclusive = true): void {
    for (;;) {
      let first: (typeof this.samplers)[number] | undefined;
      for (const s of this.samplers) {
        if ((inclusive ? s.nextMs <= limitMs : s.nextMs < limitMs) && (!first || s.nextMs < first.nextMs)) first = s;
      }
      if (!first) return;
      this.scheduler.advanceTo(first.nextMs);
      first.nextMs += first.periodMs;
      first.emit();
    }
  }
}

/** Run a topology in sim mode. Nothing happens until you advance or run the clock. */
export function runSim(topology: Topology, opts: SimOptions): SimRuntime {
  if (!Number.isInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`);
  return new SimRuntime(topology, opts);
}

/** A stable integer seed from any string (for seeds given as names). */
export function seedFrom(text: string): number {
  return hash32(text);
}

export { Subject };
