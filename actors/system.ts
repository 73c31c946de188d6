// The actor system: hosts, the actors on them, and how a message finds its actor. A message to
// an actor on the same host goes straight to its mailbox; a message to another host crosses
// the network (simulated, in-process, or a real transport), where faults live. The engine
// supplies what differs by mode: time, timers and mailboxes.
import { pino, type Logger } from 'pino';
import { Subject, type Observable } from 'rxjs';
import type { Behavior } from './behavior.ts';
import { Cell, type Mailbox } from './cell.ts';
import type { ActorMetrics, MetricsSnapshot } from './metrics.ts';
import type { ActorRef, Address, Msg } from './ref.ts';
import { checkName, checkPath, formatRef } from './ref.ts';
import { Trace, type TraceSink } from './trace.ts';
import type { Envelope } from '../transport/types.ts';
import type { LinkStats } from '../transport/memory/sim-network.ts';

export type Mode = 'sim' | 'local' | 'distributed';

/** What differs between modes. */
export interface Engine {
  readonly mode: Mode;
  now(): number;
  /** Run `fn` after `delayMs`; returns a cancel function. */
  after(delayMs: number, fn: () => void): () => void;
  /** Hand a message to a receiver on this host without running it inside the sender's turn, `afterMs` from now. */
  post(receiver: Receiver, msg: Msg, from: Address | undefined, afterMs: number): void;
  /** Send an envelope to another host. */
  transmit(env: Envelope, fromHost: string): void;
  createMailbox(cell: Cell): Mailbox;
  linkStats(): LinkStats[];
}

/** Anything that can be the target of a message on a host: an actor cell or a pending ask. */
export interface Receiver {
  accept(msg: Msg, from: Address | undefined): void;
}

export interface Host {
  readonly name: string;
  up: boolean;
  /** Restarts so far; recovery protocols read it through ctx.incarnation. */
  incarnation: number;
  readonly receivers: Map<string, Receiver>;
  /** Top-level actors, re-spawned with fresh state when the host restarts. */
  readonly roots: Map<string, Behavior<unknown, Msg>>;
}

export type DeadLetterReason = 'no-actor' | 'stopped' | 'host-down' | 'unknown-host';

export interface DeadLetter {
  readonly to: Address;
  readonly from: Address | undefined;
  readonly msg: Msg;
  readonly reason: DeadLetterReason;
}

export interface Failure {
  readonly actor: Address;
  readonly error: unknown;
  readonly msgType: string | undefined;
  readonly atMs: number;
}

export interface SystemOptions {
  readonly seed: number;
  /** Record messages into a trace hash (default on in sim, off otherwise). */
  readonly trace?: boolean;
  /** Keep this many recent trace entries for inspection. */
  readonly traceKeep?: number;
  /** Also hand every traced message and noted fact to this (`sim --trace-out`); the hash is the same. */
  readonly traceSink?: TraceSink;
  /** pino level; default from SWITCHBOARD_LOG, else 'warn'. */
  readonly logLevel?: string;
  /** Where logs go; default stderr, so stdout stays for results. */
  readonly logDestination?: pino.DestinationStream;
}

export class ActorSystem {
  readonly hosts = new Map<string, Host>();
  readonly logger: Logger;
  readonly trace: Trace | undefined;
  readonly seed: number;
  deadLetterCount = 0;
  private readonly deadLetterSubject = new Subject<DeadLetter>();
  readonly deadLetters: Observable<DeadLetter> = this.deadLetterSubject.asObservable();
  private readonly failureSubject = new Subject<Failure>();
  readonly failures: Observable<Failure> = this.failureSubject.asObservable();
  readonly failureLog: Failure[] = [];
  private readonly deadLetterLogged = new Set<string>();
  private readonly stoppedMetrics: ActorMetrics[] = [];
  private askIds = 0;
  engine!: Engine;

  constructor(opts: SystemOptions) {
    this.seed = opts.seed;
    this.trace = opts.trace ? new Trace(opts.traceKeep ?? 0, opts.traceSink) : undefined;
    const level = opts.logLevel ?? process.env.SWITCHBOARD_LOG ?? 'warn';
    this.logger = pino({
      level,
      base: undefined,
      // Log times are the run's clock: virtual milliseconds in sim mode.
      timestamp: () => `,"t":${this.engine ? Math.round(this.engine.now() * 1000) / 1000 : 0}`,
    }, opts.logDestination ?? pino.destination({ fd: 2, sync: true }));
  }

  addHost(name: string): Host {
    checkName('host', name);
    if (this.hosts.has(name)) throw new Error(`host '${name}' is already defined`);
    const host: Host = { name, up: true, incarnation: 0, receivers: new Map(), roots: new Map() };
    this.hosts.set(name, host);
    return host;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`unknown host '${name}' (hosts: ${[...this.hosts.keys()].join(', ') || 'none'})`);
    return h;
  }

  /** Spawn a top-level actor; it is re-spawned with fresh state if its host restarts. */
  spawn<S, M extends Msg>(hostName: string, path: string, behavior: Behavior<S, M>): ActorRef<M> {
    checkPath(path);
    const host = this.host(hostName);
    if (host.roots.has(path)) throw new Error(`an actor '${path}' already exists on host '${hostName}'`);
    // Spawn first: a behaviour refused at spawn (a bad mailbox) must not be re-spawned at restart.
    if (host.up) this.spawnCell(host, path, behavior as Behavior<unknown, Msg>, undefined);
    host.roots.set(path, behavior as Behavior<unknown, Msg>);
    return { host: hostName, path };
  }

  /** @internal */
  spawnCell(host: Host, path: string, behavior: Behavior<unknown, Msg>, parent: Cell | undefined): Cell {
    if (host.receivers.has(path)) throw new Error(`an actor '${path}' already exists on host '${host.name}'`);
    const cell = new Cell(this, host, path, behavior, parent);
    host.receivers.set(path, cell);
    // A child is its parent's before its init runs: if init fails and the child stops, its
    // release removes it from the parent again (otherwise a dead child would keep its name).
    if (parent) parent.children.set(path.slice(path.lastIndexOf('/') + 1), cell);
    cell.start();
    return cell;
  }

  /** @internal a fresh id for an ask's one-shot reply path, unique across cells and incarnations. */
  nextAskId(): number {
    return ++this.askIds;
  }

  /**
   * Send from an actor (or from outside the system when `from` is undefined), at once or
   * `afterMs` from now (ctx.send's afterMs). A delayed message to an actor on the same host is
   * on its way to that actor, as any same-host message is; to another host, it leaves when due,
   * unless the sender's host crashed or restarted in between.
   */
  send(to: Address, msg: Msg, from: Address | undefined, afterMs = 0): void {
    const fromHost = from?.host;
    const host = this.hosts.get(to.host);
    if (host && (fromHost === undefined || fromHost === to.host)) {
      // Same host, or injected from outside: no network in between.
      if (!host.up) return this.deadLetter({ to, from, msg }, 'host-down');
      const receiver = host.receivers.get(to.path);
      if (!receiver) return this.deadLetter({ to, from, msg }, 'no-actor');
      this.engine.post(receiver, msg, from, afterMs);
      return;
    }
    if (!host && !this.remoteHosts.has(to.host)) return this.deadLetter({ to, from, msg }, 'unknown-host');
    const env: Envelope = from ? { to, from, msg } : { to, msg };
    if (afterMs > 0) return this.transmitAfter(env, fromHost ?? this.localHost, afterMs);
    this.engine.transmit(env, fromHost ?? this.localHost);
  }

  private transmitAfter(env: Envelope, fromHost: string, afterMs: number): void {
    const sender = this.hosts.get(fromHost);
    const incarnation = sender?.incarnation;
    this.engine.after(afterMs, () => {
      // Not yet sent when its host crashed: lost with the host.
      if (sender && (!sender.up || sender.incarnation !== incarnation)) return;
      this.engine.transmit(env, fromHost);
    });
  }

  /** Distributed mode: hosts that live in other processes, reached through the transport. */
  readonly remoteHosts = new Set<string>();
  /** The host outside sends leave from in distributed mode. */
  localHost = '';
  /** host -> watcher -> watched path on that host -> the message to send when the host is lost */
  private readonly remoteWatches = new Map<string, Map<Cell, Map<string, Msg>>>();

  /** @internal death watch of an actor on another process: fires when that host is lost. */
  watchRemote(watcher: Cell, target: Address, msg: Msg): void {
    let byWatcher = this.remoteWatches.get(target.host);
    if (!byWatcher) this.remoteWatches.set(target.host, (byWatcher = new Map()));
    let byPath = byWatcher.get(watcher);
    if (!byPath) byWatcher.set(watcher, (byPath = new Map()));
    byPath.set(target.path, msg);
  }

  /** @internal */
  unwatchRemote(watcher: Cell, target: Address): void {
    const byWatcher = this.remoteWatches.get(target.host);
    const byPath = byWatcher?.get(watcher);
    if (!byPath) return;
    byPath.delete(target.path);
    if (byPath.size === 0) byWatcher!.delete(watcher);
  }

  /** The transport declared a remote host down: tell the actors that watch anything on it. */
  hostLost(hostName: string): void {
    const byWatcher = this.remoteWatches.get(hostName);
    if (!byWatcher) return;
    this.remoteWatches.delete(hostName);
    for (const [cell, byPath] of byWatcher) {
      for (const [path, msg] of byPath) this.postLocal(cell, msg, { host: hostName, path });
    }
  }

  /** An envelope arrived from the network for a host of this process. */
  receive(env: Envelope): void {
    const host = this.hosts.get(env.to.host);
    if (!host) return this.deadLetter(env, 'unknown-host');
    if (!host.up) return this.deadLetter(env, 'host-down');
    const receiver = host.receivers.get(env.to.path);
    if (!receiver) return this.deadLetter(env, 'no-actor');
    receiver.accept(env.msg, env.from);
  }

  /** @internal post to a cell on this process (watch notifications). */
  postLocal(cell: Cell, msg: Msg, from: Address | undefined): void {
    if (!cell.stopped && cell.host.up) this.engine.post(cell, msg, from, 0);
  }

  lookup(addr: Address): Cell | undefined {
    const r = this.hosts.get(addr.host)?.receivers.get(addr.path);
    return r instanceof Cell ? r : undefined;
  }

  isAlive(addr: Address): boolean {
    const cell = this.lookup(addr);
    return cell !== undefined && !cell.stopped;
  }

  /** Stop an actor on purpose (its onStop runs, watchers hear). */
  stop(addr: Address): void {
    this.lookup(addr)?.stop('stopped from outside');
  }

  /** Crash a host: its actors lose their state at once; messages to it are lost. */
  crashHost(name: string): void {
    const host = this.host(name);
    if (!host.up) return;
    host.up = false;
    this.trace?.note(`crash ${name} @${this.engine.now()}`);
    for (const r of [...host.receivers.values()]) if (r instanceof Cell && !r.parent) r.kill();
    host.receivers.clear();
    this.logger.warn({ host: name }, 'host crashed');
  }

  /** Restart a crashed host: its top-level actors start again from their initial state. */
  restartHost(name: string): void {
    const host = this.host(name);
    if (host.up) return;
    host.up = true;
    host.incarnation++;
    this.trace?.note(`restart ${name} @${this.engine.now()}`);
    for (const [path, behavior] of host.roots) this.spawnCell(host, path, behavior, undefined);
    this.logger.warn({ host: name, incarnation: host.incarnation }, 'host restarted');
  }

  deadLetter(env: { to: Address; from?: Address | undefined; msg: Msg }, reason: DeadLetterReason): void {
    this.deadLetterCount++;
    const key = `${formatRef(env.to)}:${reason}`;
    if (!this.deadLetterLogged.has(key)) {
      // Once per destination and reason at warn; the count keeps the rest.
      this.deadLetterLogged.add(key);
      this.logger.warn({ to: formatRef(env.to), from: formatRef(env.from), msgType: env.msg.type, reason }, 'dead letter');
    }
    if (this.deadLetterSubject.observed) {
      this.deadLetterSubject.next({ to: env.to, from: env.from, msg: env.msg, reason });
    }
  }

  /** @internal */
  reportFailure(cell: Cell, error: unknown, msg: Msg | undefined): void {
    const failure: Failure = { actor: cell.ref, error, msgType: msg?.type, atMs: this.engine.now() };
    if (this.failureLog.length < 1000) this.failureLog.push(failure);
    this.failureSubject.next(failure);
  }

  /** @internal */
  cellStopped(cell: Cell, reason: string): void {
    this.stoppedMetrics.push(cell.metrics);
    if (this.stoppedMetrics.length > 1000) this.stoppedMetrics.shift();
    cell.log.debug({ reason }, 'actor stopped');
  }

  /** Counters of every live actor and every link, now. */
  metrics(): MetricsSnapshot {
    const actors: ActorMetrics[] = [];
    for (const host of this.hosts.values()) {
      for (const r of host.receivers.values()) {
        if (r instanceof Cell) {
          r.metrics.queueDepth = r.mailbox.depth();
          actors.push({ ...r.metrics, dropped: { ...r.metrics.dropped } });
        }
      }
    }
    return { atMs: this.engine.now(), actors, links: this.engine.linkStats(), deadLetters: this.deadLetterCount };
  }
}
