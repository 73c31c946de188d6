// What every kv client does, whatever the protocol under it: keep one operation outstanding
// (a closed loop over a workload, plus operations asked for from outside with Invoke), number
// requests 1, 2, 3... for the servers' client table, record the history, measure latency.
// The protocol clients (nopaxos/client.ts, paxos/client.ts, unreplicated/client.ts) wrap it:
// they only say how a request travels and when an answer counts.
import { Type } from '@sinclair/typebox';
import type { ActorRef } from '../../actors/index.ts';
import type { HistorySink } from '../history/history.ts';
import { KvOpSchema, KvResultSchema, type KvOp, type KvResult } from './kv.ts';
import { randomOp, type WorkloadOptions } from './workload.ts';

/** Ask a client to run one operation; the answer goes to `replyTo`. */
export interface Invoke {
  readonly type: 'Invoke';
  readonly op: KvOp;
  readonly replyTo?: ActorRef<InvokeResult>;
}

export interface InvokeResult {
  readonly type: 'InvokeResult';
  readonly op: KvOp;
  readonly result: KvResult;
  readonly latencyMs: number;
}

/** The client's own start signal (sent to itself from init, so every mode starts it alike). */
export interface ClientStart {
  readonly type: 'ClientStart';
}

/** Pause between two operations of the closed loop. */
export interface ThinkTimeout {
  readonly type: 'ThinkTimeout';
}

export interface DriverConfig {
  /** Operations of the closed-loop workload (default 0: only Invoke). */
  readonly ops?: number;
  readonly workload?: WorkloadOptions;
  readonly history?: HistorySink;
  /** Wait this long after start before the first operation. */
  readonly startDelayMs?: number;
  /** Pause between operations of the workload. */
  readonly thinkMs?: number;
  /** Latencies kept for percentiles (the rest only counted). */
  readonly keepLatencies?: number;
}

/** External operations waiting: a bound, as on everything. */
export const MAX_QUEUED_INVOKES = 10_000;
export const DEFAULT_KEEP_LATENCIES = 100_000;

export interface Outstanding {
  readonly reqId: number;
  readonly op: KvOp;
  readonly invokedAtMs: number;
  readonly handle: number | undefined;
  readonly replyTo: ActorRef<InvokeResult> | undefined;
  /** Times the request was sent (1 + retries). */
  sends: number;
}

export interface DriverState {
  /** Unique per client and incarnation: a restarted client must not reuse request numbers. */
  readonly clientId: string;
  nextReqId: number;
  current: Outstanding | undefined;
  readonly queue: Invoke[];
  issued: number;
  completed: number;
  retries: number;
  readonly latenciesMs: number[];
  latencySumMs: number;
  maxLatencyMs: number;
  readonly lastSeen: Map<string, string>;
  startedAtMs: number;
  finishedAtMs: number | undefined;
}

export function createDriver(ctx: { self: { host: string; path: string }; incarnation: number; now(): number }): DriverState {
  return {
    clientId: `${ctx.self.host}/${ctx.self.path}#${ctx.incarnation}`,
    nextReqId: 1, current: undefined, queue: [], issued: 0, completed: 0, retries: 0,
    latenciesMs: [], latencySumMs: 0, maxLatencyMs: 0, lastSeen: new Map(),
    startedAtMs: ctx.now(), finishedAtMs: undefined,
  };
}

/** Queue an operation from outside. Returns false if the queue is full (the Invoke is dropped). */
export function enqueue(d: DriverState, msg: Invoke): boolean {
  if (d.queue.length >= MAX_QUEUED_INVOKES) return false;
  d.queue.push(msg);
  return true;
}

/** Start the next operation if none is outstanding; returns it (undefined: nothing to do). */
export function startNext(d: DriverState, cfg: DriverConfig, ctx: { now(): number; random(): number }): Outstanding | undefined {
  if (d.current !== undefined) return undefined;
  let op: KvOp;
  let replyTo: ActorRef<InvokeResult> | undefined;
  const ext = d.queue.shift();
  if (ext !== undefined) {
    op = ext.op;
    replyTo = ext.replyTo;
  } else if (d.issued < (cfg.ops ?? 0)) {
    op = randomOp(ctx.random, d.clientId, d.issued, d.lastSeen, cfg.workload);
  } else {
    return undefined;
  }
  const now = ctx.now();
  const handle = cfg.history?.invoke(d.clientId, op, now);
  d.current = { reqId: d.nextReqId++, op, invokedAtMs: now, handle, replyTo, sends: 0 };
  d.issued++;
  return d.current;
}

/** The outstanding operation completed with `result`; returns it. */
export function complete(d: DriverState, cfg: DriverConfig, result: KvResult, now: number): Outstanding {
  const cur = d.current;
  if (cur === undefined) throw new Error('complete: no operation outstanding');
  d.current = undefined;
  d.completed++;
  const latencyMs = now - cur.invokedAtMs;
  d.latencySumMs += latencyMs;
  if (latencyMs > d.maxLatencyMs) d.maxLatencyMs = latencyMs;
  if (d.latenciesMs.length < (cfg.keepLatencies ?? DEFAULT_KEEP_LATENCIES)) d.latenciesMs.push(latencyMs);
  if (cur.handle !== undefined) cfg.history?.ok(cur.handle, result, now);
  remember(d, cur.op, result);
  if (d.queue.length === 0 && d.issued >= (cfg.ops ?? 0) && d.finishedAtMs === undefined) d.finishedAtMs = now;
  return cur;
}

/** The answer to send back to whoever invoked `op` from outside (if anyone). */
export function invokeResult(cur: Outstanding, result: KvResult, now: number): InvokeResult {
  return { type: 'InvokeResult', op: cur.op, result, latencyMs: now - cur.invokedAtMs };
}

/** Has the closed loop run all its operations and every external one been answered? */
export function isDone(d: DriverState, cfg: DriverConfig): boolean {
  return d.current === undefined && d.queue.length === 0 && d.issued >= (cfg.ops ?? 0);
}

function remember(d: DriverState, op: KvOp, result: KvResult): void {
  switch (op.op) {
    case 'get': d.lastSeen.set(op.key, result.value ?? ''); break;
    case 'put': d.lastSeen.set(op.key, op.value); break;
    case 'append': d.lastSeen.delete(op.key); break;
    case 'cas': if (result.ok) d.lastSeen.set(op.key, op.to); break;
  }
}

const RefSchema = Type.Object({ host: Type.String({ minLength: 1 }), path: Type.String({ minLength: 1 }) });

/** Schemas of the client API messages that may come from outside. */
export const driverSchemas = {
  Invoke: Type.Object({ type: Type.Literal('Invoke'), op: KvOpSchema, replyTo: Type.Optional(RefSchema) }),
  InvokeResult: Type.Object({ type: Type.Literal('InvokeResult'), op: KvOpSchema, result: KvResultSchema, latencyMs: Type.Number() }),
};
