// One simulated system on the dashboard: its runtime, how it is drawn, how its protocol state
// is read, and the events its protocol has to tell since the last sample.
import type { MetricsSnapshot, SimRuntime } from '../../actors/index.ts';
import type { LatencyMeter } from '../latency.ts';
import type { DashboardEvent, ProtocolSample, SystemView } from '../protocol.ts';

export interface SimSystem {
  readonly view: SystemView;
  readonly sim: SimRuntime;
  readonly meter: LatencyMeter;
  /** The protocol's state now; `spanMs` of the run's clock passed since the last call. */
  protocol(snap: MetricsSnapshot, spanMs: number): ProtocolSample;
  /** What the protocol did since the last call that a watcher should be told (`now`: its state now). */
  events(now: ProtocolSample): Omit<DashboardEvent, 'type' | 'system'>[];
  /**
   * Why this run should make way for a fresh one (state that only grows has grown large), or
   * undefined. Checked after every sample.
   */
  exhausted?(now: ProtocolSample): string | undefined;
  /** Make the active sequencer fail (systems with one). Returns what was done. */
  failSequencer?(): string;
}

/** Per-actor counters summed by host, for rates between two snapshots. */
export function processedBy(snap: MetricsSnapshot, pick: (host: string, path: string) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of snap.actors) {
    const key = pick(a.host, a.path);
    if (key !== undefined) out.set(key, (out.get(key) ?? 0) + a.processed);
  }
  return out;
}

/** Per second of the run's clock, never negative (counters restart with a crashed host's actors). */
export function rate(now: number, before: number | undefined, spanMs: number): number {
  return spanMs > 0 ? (Math.max(0, now - (before ?? 0)) / spanMs) * 1000 : 0;
}
