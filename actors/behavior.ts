// Behaviours and their context. A behaviour is a plain state machine: `receive(state, msg, ctx)`
// returns the next state. Everything from outside — sending, timers, time, randomness, logs,
// children — comes through `ctx`, so the same behaviour runs unchanged under the simulator's
// virtual time and under real time.
import type { Logger } from 'pino';
import type { ActorRef, Address, AnyRef, Msg } from './ref.ts';

export type SupervisionStrategy = 'restart' | 'resume' | 'stop' | 'escalate';

export interface Supervision {
  /** What to do when `receive` (or `init`) throws. Default 'restart'. */
  readonly strategy: SupervisionStrategy;
  /** Restart budget: more than `maxRestarts` restarts within `withinMs` stops the actor. */
  readonly maxRestarts?: number;
  readonly withinMs?: number;
}

export const DEFAULT_SUPERVISION: Required<Supervision> = { strategy: 'restart', maxRestarts: 3, withinMs: 1000 };

export type OverflowPolicy = 'dropNewest' | 'dropOldest';

export interface MailboxOptions {
  /** Messages waiting beyond this are dropped by `overflow` and counted. */
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
}

export type AskResult<R> =
  | { readonly ok: true; readonly reply: R }
  | { readonly ok: false; readonly reason: 'timeout' };

export interface SendOptions {
  /**
   * Send it this many milliseconds from now instead of at once (virtual time in sim): the
   * message leaves then, as if sent then, without a timer or a message to the sender in between.
   * It is lost if the sender's host crashes or restarts first, as a message not yet sent is; it
   * cannot be cancelled (use a timer for that).
   */
  readonly afterMs?: number;
}

export interface TimerOptions {
  /** Fire every `delayMs` until cancelled, instead of once. */
  readonly repeat?: boolean;
}

export interface Ctx<M extends Msg> {
  readonly self: ActorRef<M>;
  readonly host: string;
  /** How many times this actor's host has restarted (0 on first start): recovery protocols read it. */
  readonly incarnation: number;
  /**
   * The actor that sent the message being handled: self for its own timers, undefined for a
   * message injected from outside. Protocols should carry reply refs in their messages; this is
   * for what a real network knows anyway, such as the port a packet came in on.
   */
  readonly sender: Address | undefined;
  send<T extends Msg>(to: ActorRef<T>, msg: T, opts?: SendOptions): void;
  /**
   * Request-response without blocking: `make` builds the request around a one-shot reply ref;
   * the reply, or a timeout, comes back to this actor as the message `adapt` makes of it.
   */
  ask<Q extends Msg, R extends Msg>(
    to: ActorRef<Q>, make: (replyTo: ActorRef<R>) => Q, timeoutMs: number, adapt: (result: AskResult<R>) => M,
  ): void;
  /** Start (or restart) the timer `name`: after `delayMs` this actor receives `msg`. */
  startTimer(name: string, delayMs: number, msg: M, opts?: TimerOptions): void;
  cancelTimer(name: string): void;
  isTimerActive(name: string): boolean;
  /**
   * Sim mode's cost model: charge `ms` of virtual CPU time to the message being handled, on top
   * of `serviceTimeMs` (for costs that depend on what the handler did, such as messages sent).
   * Ignored in real time, where the CPU charges itself.
   */
  charge(ms: number): void;
  /** Milliseconds since the run started: virtual in sim mode, real otherwise. */
  now(): number;
  /** Messages waiting in this actor's mailbox behind the one being handled (a server's queue length, for load reports). */
  backlog(): number;
  /** Uniform in [0, 1), from this actor's seeded stream. */
  random(): number;
  readonly log: Logger;
  /** Start a child at `${self.path}/${name}`; it stops when this actor stops. */
  spawn<S2, M2 extends Msg>(name: string, behavior: Behavior<S2, M2>): ActorRef<M2>;
  /** Stop this actor (no argument) or one of its children. */
  stop(target?: AnyRef): void;
  /** Death watch: when `target` stops (or its host is lost), this actor receives `msg`. */
  watch(target: AnyRef, msg: M): void;
  unwatch(target: AnyRef): void;
}

export interface Behavior<S, M extends Msg> {
  /** The initial state, at spawn and again at every restart. */
  init(ctx: Ctx<M>): S;
  receive(state: S, msg: M, ctx: Ctx<M>): S;
  /** Called when the actor is stopped on purpose (not when its host crashes). */
  onStop?(state: S, ctx: Ctx<M>): void;
  supervision?: Supervision;
  mailbox?: MailboxOptions;
  /**
   * Sim mode's cost model: virtual CPU time (ms) the actor spends on `msg`. Messages that
   * arrive meanwhile wait in the mailbox, so queues and bottlenecks appear as on real servers.
   */
  serviceTimeMs?(msg: M): number;
  /**
   * A priority lane: messages for which this returns true are handled before every waiting
   * message for which it does not (in arrival order among themselves), in every mode. For
   * control traffic that must not wait behind a backlog of requests. A mailbox bound applies to
   * each lane on its own.
   */
  priority?(msg: M): boolean;
}

/** Identity function that lets TypeScript infer S and M from the object literal. */
export function behavior<S, M extends Msg>(b: Behavior<S, M>): Behavior<S, M> {
  return b;
}

/** For exhaustive `switch (msg.type)`: a compile error when a message type is unhandled. */
export function assertNever(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}
