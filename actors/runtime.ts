// What every mode offers a user of a running topology: send and ask from outside, spawn and
// stop, crash and restart hosts, metrics as rxjs streams, dead letters and failures.
import { filter, Observable, type Subscription } from 'rxjs';
import type { Behavior } from './behavior.ts';
import type { ActorMetrics, MetricsSnapshot } from './metrics.ts';
import type { ActorRef, Address, AnyRef, Msg } from './ref.ts';
import { formatRef } from './ref.ts';
import type { ActorSystem, DeadLetter, Failure, Mode } from './system.ts';
import type { Topology } from './topology.ts';

export class AskTimeoutError extends Error {
  override readonly name = 'AskTimeoutError';
}

export abstract class Runtime {
  abstract readonly mode: Mode;
  private askSeq = 0;
  /** Outside asks not yet answered: shutdown fails them rather than leave them hanging. */
  protected readonly pendingAsks = new Set<() => void>();

  constructor(readonly system: ActorSystem, readonly topology: Topology) {}

  get seed(): number {
    return this.system.seed;
  }

  /** Milliseconds since the run started (virtual in sim). */
  now(): number {
    return this.system.engine.now();
  }

  /** Send a message from outside the system. */
  send<M extends Msg>(to: ActorRef<M>, msg: M): void {
    this.system.send(to, msg, undefined);
  }

  /** Ask from outside: resolves with the reply, rejects with AskTimeoutError. */
  ask<Q extends Msg, R extends Msg>(to: ActorRef<Q>, make: (replyTo: ActorRef<R>) => Q, timeoutMs: number): Promise<R> {
    // The reply comes back to this process: to the target's host when it lives here, else (an
    // actor in another process, distributed mode) to this process's own host.
    const system = this.system;
    const host = system.remoteHosts.has(to.host) ? system.host(system.localHost) : system.host(to.host);
    const path = `$ask/${++this.askSeq}`;
    return new Promise<R>((resolve, reject) => {
      const fail = (): void => {
        host.receivers.delete(path);
        this.pendingAsks.delete(fail);
        reject(new AskTimeoutError(`no reply from ${formatRef(to)} within ${timeoutMs} ms`));
      };
      const cancel = this.system.engine.after(timeoutMs, fail);
      this.pendingAsks.add(fail);
      host.receivers.set(path, {
        accept: (reply) => {
          cancel();
          host.receivers.delete(path);
          this.pendingAsks.delete(fail);
          resolve(reply as R);
        },
      });
      this.system.send(to, make({ host: host.name, path }), undefined);
    });
  }

  spawn<S, M extends Msg>(host: string, path: string, behavior: Behavior<S, M>): ActorRef<M> {
    return this.system.spawn(host, path, behavior);
  }

  stop(ref: AnyRef): void {
    this.system.stop(ref);
  }

  isAlive(ref: Address): boolean {
    return this.system.isAlive(ref);
  }

  /** Current state of an actor, for tests and inspection (undefined if it is not running). */
  stateOf<S>(ref: Address): S | undefined {
    return this.system.lookup(ref)?.state as S | undefined;
  }

  crash(host: string): void {
    this.system.crashHost(host);
    this.onHostChange(host, false);
  }

  restart(host: string): void {
    // The network must carry the host again before its actors' init runs: init may send.
    this.onHostChange(host, true);
    this.system.restartHost(host);
  }

  protected abstract onHostChange(host: string, up: boolean): void;

  get deadLetters(): Observable<DeadLetter> {
    return this.system.deadLetters;
  }

  get failures(): Observable<Failure> {
    return this.system.failures;
  }

  metrics(): MetricsSnapshot {
    return this.system.metrics();
  }

  /** A snapshot of all counters every `periodMs` of this run's clock. */
  metrics$(periodMs: number): Observable<MetricsSnapshot> {
    if (!(periodMs > 0)) throw new RangeError('metrics period must be > 0');
    return this.sampleEvery(periodMs, () => this.system.metrics());
  }

  /** One actor's counters every `periodMs` (nothing is emitted while it is not running). */
  actorMetrics$(actor: Address, periodMs: number): Observable<ActorMetrics> {
    return this.sampleEvery(periodMs, () => this.system.metrics().actors.find((a) => a.host === actor.host && a.path === actor.path))
      .pipe(filter((m): m is ActorMetrics => m !== undefined));
  }

  protected abstract sampleEvery<T>(periodMs: number, sample: () => T): Observable<T>;

  /** The trace hash so far (sim mode records a trace by default). */
  traceHash(): string | undefined {
    return this.system.trace?.hash();
  }

  abstract shutdown(): Promise<void>;

  /** Reject every outside ask still waiting (at shutdown). */
  protected failPendingAsks(): void {
    for (const fail of [...this.pendingAsks]) fail();
  }
}

export type { Subscription };
