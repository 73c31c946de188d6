// The load-generating core every kv client here shares (Pegasus, NetCache, consistent hashing):
// a client actor runs `sessions` sessions, each with at most one operation outstanding and its
// own request numbers 1, 2, 3... (the servers' client tables key on (clientId, session)), in
//   closed loop: each session issues its next operation as soon as the last one completed;
//   open loop:   operations arrive by a Poisson process at `ratePerMs`, whatever the servers
//                do; an arrival takes a free session or waits in a bounded queue, and its latency
//                counts from the arrival (so queueing shows, as it must under overload).
// A request not answered within `timeoutMs` is resent with the same number (the client table
// answers a retry without executing it twice). Every operation is recorded in the history for
// the linearizability checker, with values unique per write so a read names the write it saw.
//
// The protocol client owns the actor; it calls these functions from its handlers and supplies
// `send`, which puts one request on the wire the way its protocol wants.
import { behavior, type Behavior, type Ctx, type Msg } from '../../actors/index.ts';
import type { HistorySink } from '../history/history.ts';
import type { KvOp } from '../kv/kv.ts';
import type { LoadStats } from './stats.ts';
import { keyName, Workload, type WorkloadSpec } from './workload.ts';

export interface LoadStart { readonly type: 'LoadStart' }
export interface LoadArrival { readonly type: 'LoadArrival' }
export interface SessionTimeout { readonly type: 'SessionTimeout'; readonly session: number }
/** Run one operation from outside (tests script exact operations with it). */
export interface LoadInvoke { readonly type: 'LoadInvoke'; readonly op: KvOp }
/** Open loop: change the arrival rate from now on (benchmarks ramp the load with it). */
export interface LoadSetRate { readonly type: 'LoadSetRate'; readonly ratePerMs: number }
export type LoadMsg = LoadStart | LoadArrival | SessionTimeout | LoadInvoke | LoadSetRate;

export interface LoadConfig {
  /** This client's number: the switch delivers replies to it by this id. */
  readonly clientId: number;
  readonly sessions: number;
  readonly mode: 'closed' | 'open';
  /** Open loop: arrivals per ms (Poisson). */
  readonly ratePerMs?: number;
  /** Stop issuing after this many operations (default: no limit). */
  readonly ops?: number;
  /** Stop issuing this long after the start (default: no limit). */
  readonly durationMs?: number;
  readonly startDelayMs?: number;
  readonly workload: WorkloadSpec;
  readonly timeoutMs?: number;
  /**
   * Each resend of an operation waits twice as long as the one before, up to this many times
   * timeoutMs (default MAX_BACKOFF), with a random spread of up to a half: with a fixed timeout,
   * a stall longer than it (a failover, a rack leaving) makes every session resend every
   * timeout, and the resends keep the servers' queues longer than the timeout after the stall
   * has ended (a retry storm that does not end by itself). 1: a fixed timeout.
   */
  readonly maxBackoff?: number;
  /** Give up an operation after this many sends (default: never). */
  readonly maxAttempts?: number;
  /** Open loop: arrivals waiting for a session, at most. */
  readonly maxQueued?: number;
  readonly history?: HistorySink;
  readonly stats?: LoadStats;
}

export const DEFAULT_TIMEOUT_MS = 2;
export const DEFAULT_MAX_QUEUED = 10_000;
export const MAX_BACKOFF = 8;

/** One operation in flight on a session. */
export interface PendingOp {
  readonly session: number;
  readonly reqId: number;
  readonly read: boolean;
  readonly key: string;
  readonly keyNum: number;
  /** Writes: the value (unique per write). */
  readonly value: string;
  readonly valueBytes: number;
  readonly startMs: number;
  readonly handle: number | undefined;
  attempts: number;
}

export interface LoadState {
  readonly cfg: LoadConfig;
  readonly workload: Workload;
  readonly sessions: (PendingOp | undefined)[];
  readonly nextReqId: number[];
  /** Arrival times waiting for a free session (open loop). */
  readonly queue: number[];
  readonly invokes: KvOp[];
  issued: number;
  completed: number;
  retries: number;
  givenUp: number;
  startedAtMs: number;
  stopped: boolean;
  /** Open loop: the current arrival rate. */
  ratePerMs: number;
  /** Latest value read or written per key name, for scripted tests. */
  readonly lastValue: Map<string, string>;
}

export type SendFn = (op: PendingOp) => void;

type AnyCtx = Ctx<any>;

/**
 * `incarnation` (ctx.incarnation): a restarted client must not reuse request numbers, which the
 * servers' client tables would take for retries of its earlier requests. In distributed runs a
 * restarted host's incarnation is the clock in ms, so numbers from incarnation * 1000 exceed
 * those of any earlier run that issued fewer than 1000 requests per ms per session.
 */
export function createLoad(cfg: LoadConfig, incarnation = 0): LoadState {
  if (!(cfg.sessions >= 1 && cfg.sessions <= 65_535)) throw new RangeError('load client: sessions must be 1..65535');
  if (cfg.mode === 'open' && !(cfg.ratePerMs! > 0)) throw new RangeError('load client: open loop needs ratePerMs > 0');
  return {
    cfg, workload: new Workload(cfg.workload), sessions: new Array(cfg.sessions).fill(undefined), nextReqId: new Array(cfg.sessions).fill(incarnation * 1000 + 1),
    queue: [], invokes: [], issued: 0, completed: 0, retries: 0, givenUp: 0, startedAtMs: 0, stopped: false, lastValue: new Map(),
    ratePerMs: cfg.ratePerMs ?? 0,
  };
}

/** Call from init: schedules the start. */
export function scheduleStart(s: LoadState, ctx: AnyCtx): void {
  ctx.startTimer('load-start', s.cfg.startDelayMs ?? 0, { type: 'LoadStart' } satisfies LoadStart);
}

/** Handle LoadStart, LoadArrival, SessionTimeout and LoadInvoke. */
export function onLoadMsg(s: LoadState, msg: LoadMsg, ctx: AnyCtx, send: SendFn): void {
  switch (msg.type) {
    case 'LoadStart':
      s.startedAtMs = ctx.now();
      if (s.cfg.mode === 'open') scheduleArrival(s, ctx);
      else for (let i = 0; i < s.sessions.length; i++) startOn(s, i, ctx.now(), ctx, send);
      return;
    case 'LoadArrival': {
      if (!mayIssue(s, ctx.now())) return;
      s.cfg.stats?.arrived(ctx.now());
      const free = s.sessions.indexOf(undefined);
      if (free >= 0) startOn(s, free, ctx.now(), ctx, send);
      else if (s.queue.length < (s.cfg.maxQueued ?? DEFAULT_MAX_QUEUED)) s.queue.push(ctx.now());
      else if (s.cfg.stats) s.cfg.stats.dropped++;
      scheduleArrival(s, ctx);
      return;
    }
    case 'SessionTimeout': {
      const op = s.sessions[msg.session];
      if (op === undefined) return;
      if (op.attempts >= (s.cfg.maxAttempts ?? Infinity)) {
        s.givenUp++;
        if (s.cfg.stats) s.cfg.stats.dropped++;
        if (op.handle !== undefined) s.cfg.history?.unknown(op.handle);
        s.sessions[msg.session] = undefined;
        next(s, msg.session, ctx, send);
        return;
      }
      s.retries++;
      if (s.cfg.stats) s.cfg.stats.retries++;
      sendOp(s, op, ctx, send);
      return;
    }
    case 'LoadSetRate':
      if (!(msg.ratePerMs > 0)) return;
      s.ratePerMs = msg.ratePerMs;
      if (s.cfg.mode === 'open' && s.startedAtMs > 0 && !s.stopped) scheduleArrival(s, ctx);
      return;
    case 'LoadInvoke': {
      s.invokes.push(msg.op);
      const free = s.sessions.indexOf(undefined);
      if (free >= 0) startOn(s, free, ctx.now(), ctx, send);
      return;
    }
  }
}

/**
 * A reply for (session, reqId) arrived with the value read (reads) or nothing (writes).
 * Returns the completed operation, or undefined for a stale or duplicate reply.
 */
export function onReply(s: LoadState, session: number, reqId: number, value: string | undefined, ctx: AnyCtx, send: SendFn): PendingOp | undefined {
  const op = s.sessions[session];
  if (op === undefined || op.reqId !== reqId) return undefined;
  ctx.cancelTimer(timerName(session));
  const now = ctx.now();
  s.sessions[session] = undefined;
  s.completed++;
  s.cfg.stats?.record(op.startMs, now, op.read);
  if (op.handle !== undefined) s.cfg.history?.ok(op.handle, op.read ? { value: value ?? '' } : {}, now);
  s.lastValue.set(op.key, op.read ? (value ?? '') : op.value);
  next(s, session, ctx, send);
  return op;
}

/** Resend every outstanding operation now (after a route change). */
export function resendAll(s: LoadState, ctx: AnyCtx, send: SendFn): void {
  for (const op of s.sessions) if (op !== undefined) sendOp(s, op, ctx, send);
}

export function isIdle(s: LoadState): boolean {
  return s.sessions.every((x) => x === undefined) && s.queue.length === 0 && s.invokes.length === 0;
}

function next(s: LoadState, session: number, ctx: AnyCtx, send: SendFn): void {
  if (s.invokes.length > 0) return startOn(s, session, ctx.now(), ctx, send);
  if (s.cfg.mode === 'open') {
    const arrival = s.queue.shift();
    if (arrival !== undefined) startOn(s, session, arrival, ctx, send);
  } else {
    startOn(s, session, ctx.now(), ctx, send);
  }
}

function mayIssue(s: LoadState, now: number): boolean {
  if (s.stopped) return false;
  if (s.issued >= (s.cfg.ops ?? Infinity) || now - s.startedAtMs >= (s.cfg.durationMs ?? Infinity)) {
    s.stopped = true;
    return false;
  }
  return true;
}

function scheduleArrival(s: LoadState, ctx: AnyCtx): void {
  const gapMs = -Math.log(1 - ctx.random()) / s.ratePerMs;
  ctx.startTimer('load-arrival', gapMs, { type: 'LoadArrival' } satisfies LoadArrival);
}

function startOn(s: LoadState, session: number, startMs: number, ctx: AnyCtx, send: SendFn): void {
  let kvop: KvOp | undefined = s.invokes.shift();
  let keyNum = -1;
  if (kvop === undefined) {
    if (!mayIssue(s, ctx.now())) return;
    const w = s.workload.next(ctx.random, ctx.now());
    keyNum = w.key;
    kvop = w.read ? { op: 'get', key: keyName(w.key) } : { op: 'put', key: keyName(w.key), value: '' };
  } else if (kvop.op !== 'get' && kvop.op !== 'put') {
    throw new Error(`load client: only get and put are supported, not ${kvop.op}`);
  }
  const reqId = s.nextReqId[session]!++;
  const read = kvop.op === 'get';
  const value = read ? '' : (kvop.op === 'put' && kvop.value !== '' ? kvop.value : `c${s.cfg.clientId}.${session}.${reqId}`);
  const histOp: KvOp = read ? { op: 'get', key: kvop.key } : { op: 'put', key: kvop.key, value };
  const handle = s.cfg.history?.invoke(`c${s.cfg.clientId}.${session}`, histOp, startMs);
  const num = keyNum >= 0 ? keyNum : Number(kvop.key.slice(1)) || 0;
  const op: PendingOp = {
    session, reqId, read, key: kvop.key, keyNum: num, value, valueBytes: read ? 0 : s.workload.valueBytes(num), startMs, handle, attempts: 0,
  };
  s.sessions[session] = op;
  s.issued++;
  if (s.cfg.stats) s.cfg.stats.issued++;
  sendOp(s, op, ctx, send);
}

function sendOp(s: LoadState, op: PendingOp, ctx: AnyCtx, send: SendFn): void {
  op.attempts++;
  send(op);
  ctx.startTimer(timerName(op.session), waitMs(s.cfg, op.attempts, ctx), { type: 'SessionTimeout', session: op.session } satisfies SessionTimeout);
}

/** How long to wait for an answer to the `attempt`-th send of an operation (see LoadConfig.maxBackoff). */
function waitMs(cfg: LoadConfig, attempt: number, ctx: AnyCtx): number {
  const timeout = cfg.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (attempt <= 1) return timeout;
  const factor = Math.min(2 ** (attempt - 1), cfg.maxBackoff ?? MAX_BACKOFF);
  return factor <= 1 ? timeout : timeout * factor * (1 + 0.5 * ctx.random());
}

const timerNames: string[] = [];
function timerName(session: number): string {
  return (timerNames[session] ??= `session-${session}`);
}

/** Messages of the load core that may come from outside (LoadInvoke), for topology schemas. */
export function isLoadMsg(m: Msg): m is LoadMsg {
  return m.type === 'LoadStart' || m.type === 'LoadArrival' || m.type === 'SessionTimeout' || m.type === 'LoadInvoke' || m.type === 'LoadSetRate';
}

/** What a protocol adds to the load core when its client keeps no state of its own. */
export interface LoadWire<R extends Msg> {
  /** Put one request for `op` on the wire. */
  send(op: PendingOp, ctx: AnyCtx): void;
  /** The reply `msg` carries, or undefined if it answers nothing (the client ignores it). */
  reply(msg: R): { readonly session: number; readonly reqId: number; readonly value: string | undefined } | undefined;
}

/** A whole client actor: the load core plus the protocol's wire format. */
export function loadClient<R extends Msg>(cfg: LoadConfig, wire: LoadWire<R>): Behavior<LoadState, R | LoadMsg> {
  return behavior<LoadState, R | LoadMsg>({
    init: (ctx) => {
      const s = createLoad(cfg, ctx.incarnation);
      scheduleStart(s, ctx);
      return s;
    },
    receive: (s, msg, ctx) => {
      const send = (op: PendingOp): void => wire.send(op, ctx);
      if (isLoadMsg(msg)) {
        onLoadMsg(s, msg, ctx, send);
      } else {
        const r = wire.reply(msg as R);
        if (r) onReply(s, r.session, r.reqId, r.value, ctx, send);
      }
      return s;
    },
  });
}
