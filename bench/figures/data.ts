// The parts of `bench nopaxos` and `bench pegasus` results that the figures read, typed, and a
// check that a saved result (figures --from) has them before anything is plotted.
import type { BenchResult } from '../types.ts';

export interface CurvePoint {
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

export interface NopaxosResults {
  readonly curves: Record<string, readonly CurvePoint[]>;
  readonly drops: Record<string, readonly { dropRate: number; opsPerSec: number }[]>;
  readonly replicas: readonly { replicas: number; nopaxos: number; paxos: number }[];
  readonly failover: {
    readonly crashAtMs: number;
    readonly steadyOpsPerSec: number;
    readonly detectMs: number | null;
    readonly resumeMs: number | null;
    readonly fullThroughputMs: number | null;
    readonly timelineOpsPer5Ms: readonly number[];
  };
}

export interface PegasusResults {
  readonly skew: Record<string, Record<string, number>>;
  readonly skewSpreadMinMax: Record<string, Record<string, [number, number]>>;
  readonly idealUniform: number;
  readonly writes: Record<string, Record<string, { zipf099: number; uniform: number }>>;
  readonly valueSize: Record<string, Record<string, number>>;
  readonly rkeys: Record<string, number>;
  readonly dynamic: {
    readonly offeredPerMs: number;
    readonly periodMs: number;
    readonly shifts: number;
    readonly bucketMs: number;
    readonly controllerEpochMs: number;
    readonly timelineStartsMs: number;
    readonly firstShiftMs: number;
    readonly recoveryMsPerSeed: readonly (readonly (number | null)[])[];
    readonly dipFractionPerSeed: readonly (readonly number[])[];
    readonly worstRecoveryMsMedian: number | null;
    readonly timelinePerMs: readonly number[];
    readonly goodputTimelinePerMs: readonly number[];
    readonly p99TimelineMs: readonly number[];
  };
  /** Beyond the paper, and absent from results of older runs: a rack's switch crashes and comes back. */
  readonly rackFailure?: {
    readonly offeredPerMs: number;
    readonly downMs: number;
    readonly afterMs: number;
    readonly bucketMs: number;
    readonly rackFailAfterMs: number;
    readonly seeds: number;
    readonly timelineStartsMs: number;
    readonly crashAtMs: number;
    readonly restartAtMs: number;
    readonly steadyPerMsPerSeed: readonly number[];
    readonly leftAfterMsPerSeed: readonly (number | null)[];
    readonly backAfterCrashMsPerSeed: readonly (number | null)[];
    readonly joinStartAfterMsPerSeed: readonly (number | null)[];
    readonly joinMsPerSeed: readonly (number | null)[];
    readonly backAfterJoinMsPerSeed: readonly (number | null)[];
    readonly timelinePerMs: readonly number[];
    readonly goodputTimelinePerMs: readonly number[];
  };
}

export interface Nopaxos {
  readonly quick: boolean;
  readonly results: NopaxosResults;
  readonly raw: BenchResult;
}

export interface Pegasus {
  readonly quick: boolean;
  readonly sloP99Ms: number;
  readonly results: PegasusResults;
  readonly raw: BenchResult;
}

const NOPAXOS_KEYS = ['curves', 'drops', 'replicas', 'failover'] as const;
const PEGASUS_KEYS = ['skew', 'skewSpreadMinMax', 'idealUniform', 'writes', 'valueSize', 'rkeys', 'dynamic'] as const;

function check(r: unknown, name: string, keys: readonly string[]): BenchResult {
  const b = r as Partial<BenchResult> | null;
  if (!b || typeof b !== 'object' || b.name !== name || typeof b.results !== 'object' || b.results === null) {
    throw new Error(`not a 'bench ${name}' result (expected {name: '${name}', config, results, ratios})`);
  }
  const missing = keys.filter((k) => !(k in b.results!));
  if (missing.length > 0) throw new Error(`the 'bench ${name}' result lacks results.${missing.join(', results.')}`);
  return b as BenchResult;
}

export function asNopaxos(r: unknown): Nopaxos {
  const b = check(r, 'nopaxos', NOPAXOS_KEYS);
  return { quick: Boolean(b.config['quick']), results: b.results as unknown as NopaxosResults, raw: b };
}

export function asPegasus(r: unknown): Pegasus {
  const b = check(r, 'pegasus', PEGASUS_KEYS);
  const slo = Number(b.config['sloP99Ms']);
  return { quick: Boolean(b.config['quick']), sloP99Ms: Number.isFinite(slo) ? slo : 0.1, results: b.results as unknown as PegasusResults, raw: b };
}
