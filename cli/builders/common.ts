// What the builders of cli/builtins.ts share: waiting for an actor's state, the latency summary
// of a finished client, and the extras a distributed run needs beyond BuiltTopology (kept
// beside it, keyed by the built object): the history this process's clients record, and how an
// ad-hoc client host (`switchboard kv`) runs one operation.
import type { BuiltTopology } from '../../actors/topology-file.ts';
import type { NodeRuntime } from '../../actors/index.ts';
import type { History } from '../../apps/history/history.ts';
import type { KvOp, KvResult } from '../../apps/kv/kv.ts';
import { formatJsonHistory } from '../../apps/linearizability/history.ts';

const POLL_MS = 20;

/** Resolves with `summary(state)` once `done(state)` holds for the actor's state. */
export function whenState<S>(node: NodeRuntime, ref: { host: string; path: string }, done: (s: S) => boolean,
  summary: (s: S) => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const s = node.stateOf<S>(ref as never);
      if (s === undefined || !done(s)) return;
      clearInterval(poll);
      Promise.resolve(summary(s)).then(resolve, reject);
    }, POLL_MS);
  });
}

/** Until `cond()` holds (polled), or reject after `timeoutMs`. */
export function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const poll = setInterval(() => {
      if (cond()) {
        clearInterval(poll);
        resolve();
      } else if (performance.now() - t0 > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`${what}: not within ${Math.round(timeoutMs)} ms`));
      }
    }, 5);
  });
}

/** Median, p99, mean and max of latencies in ms (3 decimals). */
export function latencySummary(latencies: readonly number[]): Record<string, number> {
  if (latencies.length === 0) return {};
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    p50: r(at(0.5)), p99: r(at(0.99)), mean: r(sorted.reduce((a, b) => a + b, 0) / sorted.length), max: r(sorted[sorted.length - 1]!),
  };
}

/** Something that holds the operations this process's clients recorded. */
export interface HistorySource {
  history(): History;
  readonly size: number;
}

/** How an ad-hoc client host of a running cluster runs one operation. */
export interface CliAccess {
  /** The hosts reserved for ad-hoc clients (role 'cli'; launch does not start them). */
  readonly hosts: readonly string[];
  /** The operations its clients speak (default: every kv operation). */
  readonly ops?: readonly KvOp['op'][];
  /** Run `op` through the client actor of this node's host. */
  invoke(node: NodeRuntime, op: KvOp, timeoutMs: number): Promise<{ result: KvResult; latencyMs: number }>;
}

export interface DistributedExtras {
  readonly history?: HistorySource;
  readonly cli?: CliAccess;
}

const extras = new WeakMap<BuiltTopology, DistributedExtras>();

/** Attach the extras to what a builder returns. */
export function withExtras(built: BuiltTopology, x: DistributedExtras): BuiltTopology {
  extras.set(built, x);
  return built;
}

export function historyOf(built: BuiltTopology): HistorySource | undefined {
  return extras.get(built)?.history;
}

export function cliAccessOf(built: BuiltTopology): CliAccess | undefined {
  return extras.get(built)?.cli;
}

/** The history in the checker's JSON format, its times moved by `offsetMs`. */
export function historyJson(h: History, offsetMs: number): string {
  return formatJsonHistory({
    ...(h.model !== undefined ? { model: h.model } : {}),
    operations: h.operations.map((op) => ({
      ...op, invokeTime: op.invokeTime + offsetMs, returnTime: op.returnTime === null ? null : op.returnTime + offsetMs,
    })),
  });
}
