// Client latency for the dashboard, measured where the clients record their history: a
// HistorySink that keeps no history, only the latencies of the operations completed since the
// page's last sample. Every kv client here (NOPaxos's, Pegasus's) records into a sink, so one
// meter serves both without touching their code.
import type { ClientId, HistorySink } from '../apps/history/history.ts';
import type { ClientSample } from './protocol.ts';

/** Latencies kept per sample window, at most (the p99 of more is no different). */
const KEEP_PER_WINDOW = 50_000;

export class LatencyMeter implements HistorySink<unknown, unknown> {
  private readonly open = new Map<number, number>();
  private nextHandle = 0;
  private window: number[] = [];
  private windowSumMs = 0;
  private windowCount = 0;
  completed = 0;

  invoke(_client: ClientId, _input: unknown, time: number): number {
    const h = this.nextHandle++;
    this.open.set(h, time);
    return h;
  }

  ok(handle: number, _output: unknown, time: number): void {
    const start = this.open.get(handle);
    if (start === undefined) return;
    this.open.delete(handle);
    const ms = time - start;
    this.completed++;
    this.windowCount++;
    this.windowSumMs += ms;
    if (this.window.length < KEEP_PER_WINDOW) this.window.push(ms);
  }

  unknown(handle: number): void {
    this.open.delete(handle);
  }

  /** Throughput and latency of the operations completed in the last `spanMs`; starts a new window. */
  take(spanMs: number): ClientSample {
    const sorted = this.window.sort((a, b) => a - b);
    const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : null;
    const sample: ClientSample = {
      opsPerSec: spanMs > 0 ? (this.windowCount / spanMs) * 1000 : 0,
      meanMs: this.windowCount ? this.windowSumMs / this.windowCount : null,
      p99Ms: p99,
      completed: this.completed,
    };
    this.window = [];
    this.windowSumMs = 0;
    this.windowCount = 0;
    return sample;
  }
}
