// Per-actor and per-link counters. Counting is plain arithmetic on the hot path; snapshots are
// taken on demand or sampled on the run's clock and published as rxjs streams, so watching
// metrics never slows a message down.
import type { LinkStats } from '../transport/memory/sim-network.ts';

export interface ActorMetrics {
  readonly host: string;
  readonly path: string;
  received: number;
  processed: number;
  sent: number;
  failures: number;
  restarts: number;
  /** Messages waiting in the mailbox now. */
  queueDepth: number;
  maxQueueDepth: number;
  /** Time spent processing: virtual service time in sim, sampled wall time otherwise. */
  busyMs: number;
  /** Messages dropped by this actor's mailbox or on its stop, by reason. */
  dropped: Record<string, number>;
}

export interface MetricsSnapshot {
  readonly atMs: number;
  readonly actors: ActorMetrics[];
  readonly links: LinkStats[];
  readonly deadLetters: number;
}

export function newActorMetrics(host: string, path: string): ActorMetrics {
  return {
    host, path, received: 0, processed: 0, sent: 0, failures: 0, restarts: 0,
    queueDepth: 0, maxQueueDepth: 0, busyMs: 0, dropped: {},
  };
}

export function countActorDrop(m: ActorMetrics, reason: string, n = 1): void {
  m.dropped[reason] = (m.dropped[reason] ?? 0) + n;
}
