// Synthetic `bench nopaxos` and `bench pegasus` results in the shape the benchmarks print with
// --json: small, made up, so that the figures and the report can be tested without running the
// benchmarks. `worse` gives data under which the papers' claims fail.
import type { BenchResult } from '../../bench/types.ts';

const curve = (peak: number, lowUs: number) => [1, 8, 64, 1024].map((clients, i) => ({
  clients, opsPerSec: Math.round(peak * [0.04, 0.3, 0.9, 1][i]!), p50Us: lowUs * [1, 1.01, 1.3, 40][i]!, p99Us: lowUs * [1.2, 1.3, 2, 80][i]!, meanUs: lowUs,
}));

export function syntheticNopaxos(opts: { worse?: boolean } = {}): BenchResult {
  const at1pct = opts.worse ? 120_000 : 245_000;
  return {
    name: 'nopaxos',
    config: { quick: true },
    results: {
      curves: { nopaxos: curve(250_000, 100.3), paxos: curve(60_000, 200), paxosBatching: curve(230_000, 200), unreplicated: curve(250_000, 100) },
      drops: {
        nopaxos: [0, 0.0001, 0.01].map((dropRate) => ({ dropRate, opsPerSec: dropRate === 0.01 ? at1pct : 250_000, p50Us: 100 })),
        unreplicated: [0, 0.0001, 0.01].map((dropRate) => ({ dropRate, opsPerSec: 249_000, p50Us: 100 })),
      },
      replicas: [3, 5, 7, 9].map((n) => ({ replicas: n, nopaxos: 250_000, paxos: Math.round(300_000 / n) })),
      failover: {
        clients: 16, crashAtMs: 1500, steadyOpsPerSec: 100_000, detectMs: 20, resumeMs: 20.3, fullThroughputMs: opts.worse ? null : 83,
        timelineOpsPer5Ms: [500, 500, 0, 0, 0, 0, 300, 300, 500, 500],
      },
    },
    ratios: {},
  };
}

export function syntheticPegasus(opts: { pegasusAt12?: number; rackNeverBack?: boolean } = {}): BenchResult {
  const skewOf = (vals: number[]) => Object.fromEntries(['0', '0.5', '0.99', '1.2'].map((z, i) => [z, vals[i]!]));
  const pegasus = skewOf([1600, 1650, 1650, opts.pegasusAt12 ?? 1200]);
  const hash = skewOf([1600, 1500, 800, 100]);
  const spread = (s: Record<string, number>) => Object.fromEntries(Object.entries(s).map(([z, v]) => [z, [v - 10, v + 10]]));
  const timeline = Array.from({ length: 40 }, (_, i) => (i >= 20 && i < 24 ? 900 : 1300));
  return {
    name: 'pegasus',
    config: { quick: true, sloP99Ms: 0.1 },
    results: {
      skew: { pegasus, 'kv-hash': hash, netcache: skewOf([1800, 2100, 2000, 800]) },
      skewSpreadMinMax: { pegasus: spread(pegasus), 'kv-hash': spread(hash) },
      idealUniform: 1600,
      writes: {
        pegasus: { '0%': { zipf099: 1650, uniform: 1600 }, '50%': { zipf099: 1640, uniform: 1600 }, '100%': { zipf099: 1800, uniform: 1600 } },
        netcache: { '0%': { zipf099: 8000, uniform: 1800 }, '50%': { zipf099: 900, uniform: 1800 }, '100%': { zipf099: 800, uniform: 1800 } },
      },
      valueSize: { pegasus: { '64B': 1600, '4096B': 620 }, 'kv-hash': { '64B': 800, '4096B': 380 }, netcache: { '64B': 2000, '4096B': 390 } },
      rkeys: { '0': 800, '8': 1400, '32': 1650, '64': 1650 },
      dynamic: {
        offeredPerMs: 1320, periodMs: 10, shifts: 2, bucketMs: 0.5, controllerEpochMs: 2, seeds: 1, timelineStartsMs: 20, firstShiftMs: 30,
        recoveryMsPerSeed: [[2, 3]], dipFractionPerSeed: [[0.7, 0.75]], worstRecoveryMsMedian: 3,
        timelinePerMs: timeline, goodputTimelinePerMs: timeline.map((x) => x - 50), p99TimelineMs: timeline.map((x, i) => (i === 21 ? -1 : x > 1000 ? 0.05 : 0.4)),
      },
      rackFailure: {
        offeredPerMs: 1200, racks: 2, downMs: 60, afterMs: 60, bucketMs: 0.5, rackFailAfterMs: 10, seeds: 2, timelineStartsMs: 20, crashAtMs: 30, restartAtMs: 90,
        steadyPerMsPerSeed: [1170, 1180], leftAfterMsPerSeed: [14.5, 14.5], backAfterCrashMsPerSeed: [26.5, 28],
        joinStartAfterMsPerSeed: [4, 4], joinMsPerSeed: [2.5, 2.5], backAfterJoinMsPerSeed: [3, opts.rackNeverBack ? null : 3.5],
        timelinePerMs: timeline, goodputTimelinePerMs: timeline.map((x) => x - 50),
      },
    },
    ratios: {},
  };
}
