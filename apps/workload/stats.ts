// What a load run measures: completed operations, throughput over a window and over time
// (a timeline), and latency percentiles. Percentiles are exact (the latencies of a run are
// kept, sorted once at the end): runs here are short and a few hundred thousand samples sort in
// milliseconds, so a histogram's approximation buys nothing.

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class LoadStats {
  /** Latencies of operations completed inside the measurement window. */
  private readonly latencies: number[] = [];
  completed = 0;
  issued = 0;
  /** Operations given up or refused (open loop: no free session and a full queue). */
  dropped = 0;
  retries = 0;
  /** Open loop: arrivals (issued or not). */
  arrivals = 0;
  reads = 0;
  writes = 0;
  /** Completions per timeline bucket. */
  readonly timeline: number[] = [];

  /**
   * @param fromMs start of the measurement window (warm-up before it is not measured)
   * @param toMs end of the window
   * @param bucketMs width of a timeline bucket (timeline covers the whole run)
   */
  constructor(readonly fromMs = 0, readonly toMs = Infinity, readonly bucketMs = 1, readonly keep = 2_000_000) {}

  /** An operation invoked at `startMs` completed at `endMs`. */
  record(startMs: number, endMs: number, read: boolean): void {
    const b = Math.floor(endMs / this.bucketMs);
    while (this.timeline.length <= b) this.timeline.push(0);
    this.timeline[b]!++;
    if (endMs < this.fromMs || endMs > this.toMs) return;
    this.completed++;
    if (read) this.reads++;
    else this.writes++;
    if (this.latencies.length < this.keep) this.latencies.push(endMs - startMs);
  }

  /** Open loop: an operation arrived at `atMs` (whether it found a session, waited or was refused). */
  arrived(_atMs: number): void {
    this.arrivals++;
  }

  /** Completions per ms within the window. */
  throughputPerMs(): number {
    const span = this.toMs - this.fromMs;
    return Number.isFinite(span) && span > 0 ? this.completed / span : 0;
  }

  latency(): LatencySummary {
    return summarise(this.latencies);
  }
}

export function summarise(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return { count: s.length, meanMs: sum / s.length, p50Ms: percentile(s, 0.5), p99Ms: percentile(s, 0.99), maxMs: s[s.length - 1]! };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
