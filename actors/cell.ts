// An actor cell: one live actor's state, behaviour, context, timers, children, watchers,
// supervision and counters. The cell is the same in every mode; only its mailbox differs
// (the simulator's, or nact's in real time), chosen by the engine.
import type { Logger } from 'pino';
import type { AskResult, Behavior, Ctx, Supervision, TimerOptions } from './behavior.ts';
import { DEFAULT_SUPERVISION } from './behavior.ts';
import type { ActorMetrics } from './metrics.ts';
import { countActorDrop, newActorMetrics } from './metrics.ts';
import type { Random } from './random.ts';
import { seededRandom } from './random.ts';
import type { ActorRef, Address, AnyRef, Msg } from './ref.ts';
import { checkName, formatRef, sameRef } from './ref.ts';
import type { ActorSystem, Host, Receiver } from './system.ts';

export interface Mailbox {
  /** A message arrives for this actor now. */
  accept(msg: Msg, from: Address | undefined): void;
  depth(): number;
  /** No more processing; returns how many waiting messages were discarded. */
  close(): number;
}

type AnyBehavior = Behavior<unknown, Msg>;

/** The sender of a timer's message: the actor itself, marked with the timer's generation. */
interface TimerFrom extends Address {
  readonly timer: string;
  readonly timerGen: number;
  readonly repeat: boolean;
}

interface Watcher {
  readonly cell: Cell;
  readonly msg: Msg;
}

export class Cell implements Receiver {
  readonly ref: ActorRef<Msg>;
  readonly metrics: ActorMetrics;
  readonly ctx: Ctx<Msg>;
  readonly children = new Map<string, Cell>();
  state: unknown;
  stopped = false;
  private readonly timers = new Map<string, () => void>();
  private readonly watchers = new Map<Cell, Watcher>();
  private readonly watching = new Set<Cell>();
  private readonly supervision: Required<Supervision>;
  private restartTimesMs: number[] = [];
  private initFailuresInARow = 0;
  private chargedMs = 0;
  /** Timer name -> the generation of its current start: see startTimer. */
  private readonly timerGens = new Map<string, number>();
  private timerSeq = 0;
  /** Who sent the message being handled (ctx.sender). */
  private sender: Address | undefined;
  private rng: Random | undefined;
  private logger: Logger | undefined;
  readonly mailbox: Mailbox;

  constructor(
    readonly system: ActorSystem,
    readonly host: Host,
    readonly path: string,
    readonly behavior: AnyBehavior,
    readonly parent: Cell | undefined,
  ) {
    this.ref = { host: host.name, path };
    const mb = behavior.mailbox;
    if (mb && !(Number.isInteger(mb.capacity) && mb.capacity >= 1)) {
      // A capacity of 0 behaves differently in sim and on nact mailboxes: refuse it in all modes.
      throw new RangeError(`${formatRef(this.ref)}: mailbox capacity must be an integer >= 1, got ${mb.capacity}`);
    }
    this.metrics = newActorMetrics(host.name, path);
    this.supervision = { ...DEFAULT_SUPERVISION, ...behavior.supervision };
    this.ctx = this.makeCtx();
    this.mailbox = system.engine.createMailbox(this);
  }

  /** Run `init`; a throwing init is a failure like any other. */
  start(): void {
    try {
      this.state = this.behavior.init(this.ctx);
      this.initFailuresInARow = 0;
    } catch (err) {
      this.initFailuresInARow++;
      this.fail(err, undefined);
    }
  }

  accept(msg: Msg, from: Address | undefined): void {
    if (this.stopped) {
      this.system.deadLetter({ to: this.ref, from, msg }, 'stopped');
      return;
    }
    this.mailbox.accept(msg, from);
  }

  /** Handle one message; called by the mailbox. */
  process(msg: Msg, from: Address | undefined): void {
    if (this.stopped) return;
    if (from !== undefined && (from as TimerFrom).timerGen !== undefined && !this.timerStillWanted(from as TimerFrom)) {
      countActorDrop(this.metrics, 'stale-timer');
      return;
    }
    this.metrics.processed++;
    const trace = this.system.trace;
    if (trace) trace.record(this.system.engine.now(), from, this.ref, msg);
    this.sender = from;
    try {
      this.state = this.behavior.receive(this.state, msg, this.ctx);
    } catch (err) {
      this.fail(err, msg);
    }
    this.sender = undefined;
  }

  /** Virtual CPU time of the message just handled: its service time plus what it charged. */
  serviceTimeMs(msg: Msg): number {
    const charged = this.chargedMs;
    this.chargedMs = 0;
    return (this.behavior.serviceTimeMs ? this.behavior.serviceTimeMs(msg) : 0) + charged;
  }

  get log(): Logger {
    if (!this.logger) this.logger = this.system.logger.child({ host: this.host.name, path: this.path });
    return this.logger;
  }

  get random(): Random {
    if (!this.rng) this.rng = seededRandom(this.system.seed, `${this.host.name}/${this.path}#${this.host.incarnation}`);
    return this.rng;
  }

  // ---- supervision -------------------------------------------------------------------------

  /** `receive` or `init` threw: apply the supervision strategy. */
  fail(err: unknown, msg: Msg | undefined): void {
    if (this.stopped) return;
    this.metrics.failures++;
    this.log.error({ err, msgType: msg?.type }, 'actor failed');
    this.system.reportFailure(this, err, msg);
    switch (this.supervision.strategy) {
      case 'resume':
        return;
      case 'stop':
        return this.stop('failed');
      case 'escalate':
        if (this.parent) return this.parent.fail(err, msg);
        return this.stop('failed; no parent to escalate to');
      case 'restart':
        return this.restart();
    }
  }

  private restart(): void {
    const now = this.system.engine.now();
    const { maxRestarts, withinMs } = this.supervision;
    // `<=` so that a zero-width window still counts restarts made at the same instant.
    this.restartTimesMs = this.restartTimesMs.filter((t) => now - t <= withinMs);
    // An init that keeps throwing restarts at once, in one call stack, however wide the window:
    // count those failures too, so the budget also ends that loop.
    if (this.restartTimesMs.length >= maxRestarts || this.initFailuresInARow > maxRestarts) {
      this.log.error({ maxRestarts, withinMs }, 'restart budget exhausted: stopping');
      return this.stop('restart budget exhausted');
    }
    this.restartTimesMs.push(now);
    this.metrics.restarts++;
    this.cancelAllTimers();
    for (const child of [...this.children.values()]) child.stop('parent restarted');
    this.start();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Stop on purpose: children first, then onStop, then watchers hear of it. */
  stop(reason: string): void {
    if (this.stopped) return;
    for (const child of [...this.children.values()]) child.stop('parent stopped');
    if (this.behavior.onStop) {
      try {
        this.behavior.onStop(this.state, this.ctx);
      } catch (err) {
        this.log.error({ err }, 'onStop threw');
      }
    }
    this.release(reason);
    this.notifyWatchers();
  }

  /** The host crashed: everything is lost at once, no onStop. Watchers on other hosts still hear. */
  kill(): void {
    if (this.stopped) return;
    for (const child of this.children.values()) child.kill();
    this.release('host crashed');
    for (const w of this.watchers.values()) {
      if (w.cell.host !== this.host) this.system.postLocal(w.cell, w.msg, this.ref);
    }
    this.watchers.clear();
  }

  private release(reason: string): void {
    this.stopped = true;
    this.cancelAllTimers();
    const discarded = this.mailbox.close();
    if (discarded > 0) countActorDrop(this.metrics, 'stopped', discarded);
    for (const target of this.watching) target.watchers.delete(this);
    this.watching.clear();
    if (this.host.receivers.get(this.path) === this) this.host.receivers.delete(this.path);
    this.parent?.children.delete(this.path.slice(this.path.lastIndexOf('/') + 1));
    this.system.cellStopped(this, reason);
  }

  private notifyWatchers(): void {
    for (const w of this.watchers.values()) {
      if (!w.cell.stopped) this.system.postLocal(w.cell, w.msg, this.ref);
    }
    this.watchers.clear();
  }

  private cancelAllTimers(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.timerGens.clear();
  }

  // ---- the context -------------------------------------------------------------------------

  private makeCtx(): Ctx<Msg> {
    const cell = this;
    const system = this.system;
    return {
      self: this.ref,
      host: this.host.name,
      get incarnation() { return cell.host.incarnation; },
      get sender() { return cell.sender; },
      send(to, msg, opts) {
        cell.metrics.sent++;
        const afterMs = opts?.afterMs;
        if (afterMs === undefined) return system.send(to, msg, cell.ref);
        if (!(afterMs >= 0 && afterMs < Infinity)) throw new RangeError(`send: afterMs must be a finite duration >= 0, got ${afterMs}`);
        system.send(to, msg, cell.ref, afterMs);
      },
      ask(to, make, timeoutMs, adapt) {
        cell.ask(to, make as unknown as (r: AnyRef) => Msg, timeoutMs, adapt as (r: AskResult<Msg>) => Msg);
      },
      startTimer(name, delayMs, msg, opts) {
        cell.startTimer(name, delayMs, msg, opts);
      },
      cancelTimer(name) {
        const cancel = cell.timers.get(name);
        if (cancel) {
          cancel();
          cell.timers.delete(name);
        }
        cell.timerGens.delete(name);
      },
      isTimerActive(name) {
        return cell.timers.has(name);
      },
      charge(ms) {
        if (!(ms >= 0)) throw new RangeError(`charge: ${ms} ms is not a duration`);
        cell.chargedMs += ms;
      },
      now: () => system.engine.now(),
      backlog: () => cell.mailbox.depth(),
      random: () => cell.random.next(),
      get log() { return cell.log; },
      spawn<S2, M2 extends Msg>(name: string, b: Behavior<S2, M2>): ActorRef<M2> {
        checkName('child', name);
        if (cell.children.has(name)) throw new Error(`${formatRef(cell.ref)} already has a child '${name}'`);
        // spawnCell registers the child with this cell before its init runs, so that a child
        // whose init fails (and stops it) is removed again and leaves its name free.
        const child = system.spawnCell(cell.host, `${cell.path}/${name}`, b as unknown as AnyBehavior, cell);
        return child.ref as unknown as ActorRef<M2>;
      },
      stop(target) {
        if (!target || sameRef(target, cell.ref)) return cell.stop('stopped itself');
        const child = [...cell.children.values()].find((c) => sameRef(c.ref, target));
        if (!child) throw new Error(`${formatRef(target)} is not a child of ${formatRef(cell.ref)}`);
        child.stop('stopped by parent');
      },
      watch(target, msg) {
        if (system.remoteHosts.has(target.host)) return system.watchRemote(cell, target, msg);
        const t = system.lookup(target);
        if (!t || t.stopped) {
          // Already gone: say so at once, as death watch does for dead actors.
          system.postLocal(cell, msg, target);
          return;
        }
        t.watchers.set(cell, { cell, msg });
        cell.watching.add(t);
      },
      unwatch(target) {
        if (system.remoteHosts.has(target.host)) return system.unwatchRemote(cell, target);
        const t = system.lookup(target);
        if (!t) return;
        t.watchers.delete(cell);
        cell.watching.delete(t);
      },
    };
  }

  private startTimer(name: string, delayMs: number, msg: Msg, opts: TimerOptions | undefined): void {
    if (!(delayMs >= 0)) throw new RangeError(`timer '${name}': delay must be >= 0, got ${delayMs}`);
    this.timers.get(name)?.();
    const repeat = opts?.repeat === true;
    if (repeat && delayMs === 0) throw new RangeError(`timer '${name}': a repeating timer needs a delay > 0`);
    // A new generation: a message of the timer's previous start still waiting in the mailbox
    // is stale and will be dropped, as a cancelled timer's is (Akka's timer semantics).
    const gen = ++this.timerSeq;
    this.timerGens.set(name, gen);
    this.armTimer(name, gen, delayMs, msg, repeat);
  }

  // Timers are on the hot path of switch models (one per packet): the callback is an inline
  // arrow, because a named closure costs far more to create under tsx (esbuild's keepNames).
  private armTimer(name: string, gen: number, delayMs: number, msg: Msg, repeat: boolean): void {
    this.timers.set(name, this.system.engine.after(delayMs, () => this.onTimer(name, gen, delayMs, msg, repeat)));
  }

  private onTimer(name: string, gen: number, delayMs: number, msg: Msg, repeat: boolean): void {
    if (this.stopped) return;
    if (repeat) this.armTimer(name, gen, delayMs, msg, true);
    else this.timers.delete(name);
    const from: TimerFrom = { host: this.host.name, path: this.path, timer: name, timerGen: gen, repeat };
    this.mailbox.accept(msg, from);
  }

  /** A timer's message is wanted while its timer was neither cancelled nor started again since. */
  private timerStillWanted(from: TimerFrom): boolean {
    if (this.timerGens.get(from.timer) !== from.timerGen) return false;
    if (!from.repeat) this.timerGens.delete(from.timer);
    return true;
  }

  private ask(to: AnyRef, make: (replyTo: AnyRef) => Msg, timeoutMs: number, adapt: (r: AskResult<Msg>) => Msg): void {
    // The id is unique in the whole system, not just in this cell: a cell of a later incarnation
    // (host restart) or a re-spawned actor at the same path must not pick up the replies, or
    // have its pending ask removed by the timeout, of an ask made by its predecessor.
    const path = `${this.path}/$ask${this.system.nextAskId()}`;
    const replyTo: AnyRef = { host: this.host.name, path };
    const receivers = this.host.receivers;
    let done = false;
    const finish = (result: AskResult<Msg>): void => {
      if (done) return;
      done = true;
      receivers.delete(path);
      if (!this.stopped) this.mailbox.accept(adapt(result), result.ok ? to : this.ref);
    };
    const cancel = this.system.engine.after(timeoutMs, () => finish({ ok: false, reason: 'timeout' }));
    receivers.set(path, {
      accept: (reply: Msg) => {
        cancel();
        finish({ ok: true, reply });
      },
    });
    this.metrics.sent++;
    this.system.send(to, make(replyTo), this.ref);
  }
}
