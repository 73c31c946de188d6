// `switchboard bench nopaxos`: the NOPaxos paper's evaluation (OSDI 2016, section 6), in sim
// with the service-time cost model of apps/kv/cost.ts (a NOPaxos replica handles 2 messages
// per request, a Multi-Paxos leader about 2n, an unreplicated server 2), 5 replicas unless said,
// links of 0.05 ms one way host to host (0.025 ms host to switch). Every figure is measured in
// this run; nothing is assumed.
//
// The sync period. Followers execute nothing until the leader's SyncCommit; then they work
// through the backlog a little per message they handle (apps/nopaxos/replica.ts,
// executeCommittedChunk; the reference runs it all in one handler), so a saturated follower
// still spends the sync's execution time once per period, and the clients, which need f
// followers' replies, see it. A figure that is honest about it must measure whole sync periods. With the reference's period every point would cost a second
// of virtual time at up to 250 k ops/s, so the figures run with syncMs = BENCH_SYNC_MS (50 ms;
// every other timeout is the reference's) over windows of whole periods, and results.syncPeriod
// measures the saturated throughput at 10 ms, 50 ms and the reference's 1000 ms, so that the
// cost of the period is in the open (ratios.nopaxosVsUnreplicatedThroughputReferenceSync).
//
//   results.curves        latency against throughput of NOPaxos (in-switch sequencer),
//                         Multi-Paxos, batching Multi-Paxos and unreplicated, as closed-loop
//                         clients are added (one point per client count: ops/s, p50/p99 µs)
//   results.drops         maximum throughput against the packet drop rate (every link drops)
//   results.replicas      saturated throughput of NOPaxos and Multi-Paxos with 3, 5, 7, 9 replicas
//   results.sequencers    the host-based sequencer against the in-switch one
//   results.syncPeriod    saturated NOPaxos throughput against the sync period
//   results.failover      the sequencer fails under load in the steady state (host-based
//                         sequencers and the NOPaxos controller, every timeout the reference's,
//                         sync included): resumeMs, fullThroughputMs, a timeline
//   results.targets       each target of the issue, the figure measured and whether it is met
//   ratios.nopaxosVsUnreplicatedThroughput   peak ÷ peak (target ≥ 0.95)
//   ratios.nopaxosVsPaxosThroughput          peak ÷ peak (target ≥ 4)
//   ratios.nopaxosVsUnreplicatedLatency      median latency with one client ÷ the same (target ≤ 1.2)
//   ratios.nopaxosThroughputAt1pctDrop       max throughput at 1 % drops ÷ at 0 % (target ≥ 0.9)
//
// Each point is one sim run (seed 1): the clients run closed loops for a warm-up, then the
// completions and latencies of a measurement window are counted. Virtual time is what counts;
// the wall time only says how long the bench took.
import { performance } from 'node:perf_hooks';
import { runSim, type ActorRef, type Topology } from '../actors/index.ts';
import type { HistorySink } from '../apps/history/history.ts';
import type { DriverState } from '../apps/kv/driver.ts';
import { PROBE_INTERVAL_MS, SEQUENCER_FAIL_AFTER_MS, type ControllerState } from '../apps/nopaxos/controller.ts';
import { REFERENCE_TIMEOUTS, type NopaxosTimeouts } from '../apps/nopaxos/replica.ts';
import { nopaxosSwitchTopology, SWITCH_LINK_MS } from '../apps/nopaxos/switch-topology.ts';
import { nopaxosTopology } from '../apps/nopaxos/topology.ts';
import { paxosTopology } from '../apps/paxos/topology.ts';
import { unreplicatedTopology } from '../apps/unreplicated/topology.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const SEED = 1;
const LINK_MS = 0.05;
const REPLICAS = 5;
const BATCH = 64;
/** The sync period of the throughput figures (see above). */
export const BENCH_SYNC_MS = 50;
/** Closed-loop clients run "forever": far more operations than any window completes. */
const FOREVER = 1e9;

export type SystemName = 'nopaxos' | 'nopaxosHostSequencer' | 'paxos' | 'paxosBatching' | 'unreplicated';

interface SystemSpec {
  readonly clients: number;
  readonly replicas?: number;
  readonly dropRate?: number;
  /** NOPaxos timeouts: the reference's, except syncMs = BENCH_SYNC_MS unless given here. */
  readonly timeouts?: Partial<NopaxosTimeouts>;
  readonly history?: HistorySink;
}

interface Built {
  readonly topology: Topology;
  readonly clients: readonly ActorRef<never>[];
  readonly controller?: ActorRef<never> | undefined;
}

export function buildSystem(name: SystemName, spec: SystemSpec): Built {
  const common = { clients: spec.clients, opsPerClient: FOREVER, ...(spec.history ? { history: spec.history } : {}) };
  const n = spec.replicas ?? REPLICAS;
  const timeouts: Partial<NopaxosTimeouts> = { syncMs: BENCH_SYNC_MS, ...spec.timeouts };
  switch (name) {
    case 'nopaxos': {
      const t = nopaxosSwitchTopology({
        ...common, replicas: n, timeouts,
        switchLink: { latencyMs: SWITCH_LINK_MS, ...(spec.dropRate ? { dropRate: spec.dropRate } : {}) },
      });
      return { topology: t.topology, clients: t.clients as readonly ActorRef<never>[] };
    }
    case 'nopaxosHostSequencer': {
      const t = nopaxosTopology({ ...common, replicas: n, timeouts });
      return { topology: t.topology, clients: t.clients as readonly ActorRef<never>[], controller: t.controller as ActorRef<never> | undefined };
    }
    case 'paxos':
    case 'paxosBatching': {
      const t = paxosTopology({ ...common, replicas: n, batchSize: name === 'paxos' ? 1 : BATCH });
      return { topology: t.topology, clients: t.clients as readonly ActorRef<never>[] };
    }
    case 'unreplicated': {
      const t = unreplicatedTopology(common);
      return { topology: t.topology, clients: t.clients as readonly ActorRef<never>[] };
    }
  }
}

export interface Point {
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
}

interface Window {
  readonly warmMs: number;
  readonly windowMs: number;
}

/** One closed-loop run: throughput and latency over the window after the warm-up. */
export function measure(sys: Built, w: Window, dropRate = 0): Point {
  const rt = runSim(sys.topology, {
    seed: SEED, logLevel: 'silent', trace: false, network: { latencyMs: LINK_MS, ...(dropRate ? { dropRate } : {}) },
  });
  const drivers = (): DriverState[] => sys.clients.map((c) => rt.stateOf<{ d: DriverState }>(c)!.d);
  rt.advance(w.warmMs);
  const before = drivers().map((d) => ({ completed: d.completed, kept: d.latenciesMs.length }));
  rt.advance(w.windowMs);
  const after = drivers();
  let done = 0;
  const lat: number[] = [];
  after.forEach((d, i) => {
    done += d.completed - before[i]!.completed;
    for (let k = before[i]!.kept; k < d.latenciesMs.length; k++) lat.push(d.latenciesMs[k]!);
  });
  lat.sort((a, b) => a - b);
  const pct = (q: number): number => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!);
  const mean = lat.length === 0 ? NaN : lat.reduce((a, b) => a + b, 0) / lat.length;
  return {
    clients: sys.clients.length, opsPerSec: Math.round(done / (w.windowMs / 1000)),
    p50Us: us(pct(0.5)), p99Us: us(pct(0.99)), meanUs: us(mean),
  };
}

const us = (ms: number): number => Math.round(ms * 10_000) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const peak = (pts: readonly Point[]): number => Math.max(...pts.map((p) => p.opsPerSec));

/** Records when each operation returned (the failover timeline). */
class ReturnTimes implements HistorySink {
  readonly times: number[] = [];
  invoke(): number {
    return 0;
  }

  ok(_handle: number, _output: unknown, time: number): void {
    this.times.push(time);
  }

  unknown(): void {}
}

export interface FailoverResult {
  readonly clients: number;
  readonly crashAtMs: number;
  /** Throughput over the sync period before the failure (ops/s). */
  readonly steadyOpsPerSec: number;
  /** The controller declared the sequencer failed and installed the standby, this long after the crash. */
  readonly detectMs: number | null;
  /** The first operation completed through the new sequencer, this long after the crash. */
  readonly resumeMs: number | null;
  /** The end of the first 5-ms window after the crash with ≥ 90 % of the steady throughput. */
  readonly fullThroughputMs: number | null;
  /** Completions per 5-ms bucket, from 10 ms before the crash. */
  readonly timelineOpsPer5Ms: number[];
  readonly timeouts: NopaxosTimeouts & { readonly probeIntervalMs: number; readonly sequencerFailAfterMs: number };
}

/** Operations in flight at the crash are answered within this (a few round trips). */
const DRAIN_MS = 1;
const FULL_WINDOW_MS = 5;

/**
 * The active sequencer crashes in the steady state (half way between two syncs, so that the
 * followers have the backlog of half a period to execute when the view change commits), with
 * every timeout the reference's.
 */
export function sequencerFailover(clients: number, crashAtMs: number, afterMs: number): FailoverResult {
  const sink = new ReturnTimes();
  const sys = buildSystem('nopaxosHostSequencer', { clients, history: sink, timeouts: REFERENCE_TIMEOUTS });
  const rt = runSim(sys.topology, { seed: SEED, logLevel: 'silent', trace: false, network: { latencyMs: LINK_MS } });
  rt.advance(crashAtMs);
  rt.crash('seq0');
  rt.advance(afterMs);
  const times = sink.times;
  const steadyFrom = Math.max(0, crashAtMs - REFERENCE_TIMEOUTS.syncMs);
  const steady = times.filter((t) => t >= steadyFrom && t < crashAtMs).length / ((crashAtMs - steadyFrom) / 1000);
  const resume = times.find((t) => t > crashAtMs + DRAIN_MS);
  const from = crashAtMs - 10;
  const perMs = new Array<number>(Math.ceil(afterMs) + 10).fill(0);
  for (const t of times) {
    const b = Math.floor(t - from);
    if (b >= 0 && b < perMs.length) perMs[b]!++;
  }
  let full: number | null = null;
  const need = 0.9 * steady * (FULL_WINDOW_MS / 1000);
  for (let start = 10 + Math.ceil(DRAIN_MS); start + FULL_WINDOW_MS <= perMs.length; start++) {
    let sum = 0;
    for (let b = start; b < start + FULL_WINDOW_MS; b++) sum += perMs[b]!;
    if (sum >= need) {
      full = start + FULL_WINDOW_MS - 10;
      break;
    }
  }
  const per5: number[] = [];
  for (let b = 0; b < perMs.length; b += 5) per5.push(perMs.slice(b, b + 5).reduce((a, x) => a + x, 0));
  const ctl = sys.controller ? rt.stateOf<ControllerState>(sys.controller) : undefined;
  const ev = ctl?.events.find((e) => e.kind === 'failover' && e.atMs >= crashAtMs);
  return {
    clients, crashAtMs, steadyOpsPerSec: Math.round(steady),
    detectMs: ev ? r3(ev.atMs - crashAtMs) : null,
    resumeMs: resume === undefined ? null : r3(resume - crashAtMs),
    fullThroughputMs: full,
    timelineOpsPer5Ms: per5,
    timeouts: { ...REFERENCE_TIMEOUTS, probeIntervalMs: PROBE_INTERVAL_MS, sequencerFailAfterMs: SEQUENCER_FAIL_AFTER_MS },
  };
}

interface Config {
  readonly curveClients: readonly number[];
  readonly curve: Window;
  readonly dropRates: readonly number[];
  readonly dropClients: number;
  readonly drop: Window;
  readonly dropSystems: readonly SystemName[];
  readonly replicaCounts: readonly number[];
  readonly replicaClients: number;
  readonly syncPeriods: readonly number[];
  readonly syncClients: number;
  readonly failoverClients: number;
  readonly failoverCrashAtMs: number;
  readonly failoverAfterMs: number;
}

const FULL: Config = {
  curveClients: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  curve: { warmMs: 100, windowMs: 200 },
  dropRates: [0, 0.00001, 0.0001, 0.001, 0.01],
  dropClients: 1024,
  drop: { warmMs: 150, windowMs: 300 },
  dropSystems: ['nopaxos', 'paxos', 'unreplicated'],
  replicaCounts: [3, 5, 7, 9],
  replicaClients: 256,
  syncPeriods: [10, BENCH_SYNC_MS, 1000],
  syncClients: 256,
  failoverClients: 16,
  failoverCrashAtMs: 1500,
  failoverAfterMs: 400,
};

const QUICK: Config = {
  curveClients: [1, 8, 32, 128, 1024],
  curve: { warmMs: 50, windowMs: 100 },
  dropRates: [0, 0.00001, 0.0001, 0.001, 0.01],
  dropClients: 1024,
  drop: { warmMs: 100, windowMs: 150 },
  dropSystems: ['nopaxos', 'unreplicated'],
  replicaCounts: [3, 5, 7, 9],
  replicaClients: 128,
  syncPeriods: [10, BENCH_SYNC_MS, 1000],
  syncClients: 256,
  failoverClients: 16,
  failoverCrashAtMs: 1500,
  failoverAfterMs: 300,
};

const CURVE_SYSTEMS: readonly SystemName[] = ['nopaxos', 'paxos', 'paxosBatching', 'unreplicated'];

interface DropPoint { readonly dropRate: number; readonly opsPerSec: number; readonly p50Us: number }

export async function benchNopaxos(opts: BenchOptions): Promise<BenchResult> {
  const say = opts.progress ?? (() => {});
  const cfg = opts.quick ? QUICK : FULL;
  const t0 = performance.now();
  const lap = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

  // ---- latency-throughput curves ----
  const curves: Record<string, Point[]> = {};
  for (const name of CURVE_SYSTEMS) {
    curves[name] = cfg.curveClients.map((clients) => measure(buildSystem(name, { clients }), cfg.curve));
    say(`curve ${name}: peak ${peak(curves[name]!)} ops/s (${lap()})`);
  }
  const lowLoad = (name: string): number => curves[name]![0]!.p50Us;

  // ---- throughput against drop rate ----
  const drops: Record<string, DropPoint[]> = {};
  const dropRun = (name: SystemName, rates: readonly number[], timeouts?: Partial<NopaxosTimeouts>): DropPoint[] =>
    rates.map((dropRate) => {
      const p = measure(buildSystem(name, { clients: cfg.dropClients, dropRate, ...(timeouts ? { timeouts } : {}) }), cfg.drop, dropRate);
      return { dropRate, opsPerSec: p.opsPerSec, p50Us: p.p50Us };
    });
  for (const name of cfg.dropSystems) {
    drops[name] = dropRun(name, cfg.dropRates);
    say(`drops ${name}: ${drops[name]!.map((d) => d.opsPerSec).join(', ')} ops/s (${lap()})`);
  }
  // The reference code asks for a missing message at once; ours waits gapWaitMs (5 ms) first,
  // in case the network only reordered it. Without the wait:
  drops['nopaxosNoGapWait'] = dropRun('nopaxos', [0, 0.01], { gapWaitMs: 0 });
  say(`drops nopaxos without the gap wait: ${drops['nopaxosNoGapWait']!.map((d) => d.opsPerSec).join(', ')} ops/s (${lap()})`);
  const atDrop = (name: string, rate: number): number => drops[name]!.find((d) => d.dropRate === rate)!.opsPerSec;

  // ---- replica counts ----
  const replicas = cfg.replicaCounts.map((n) => ({
    replicas: n,
    nopaxos: measure(buildSystem('nopaxos', { clients: cfg.replicaClients, replicas: n }), cfg.curve).opsPerSec,
    paxos: measure(buildSystem('paxos', { clients: cfg.replicaClients, replicas: n }), cfg.curve).opsPerSec,
  }));
  say(`replicas: ${replicas.map((r) => `${r.replicas}: ${r.nopaxos}/${r.paxos}`).join(', ')} ops/s NOPaxos/Multi-Paxos (${lap()})`);
  const byN = (n: number) => replicas.find((r) => r.replicas === n)!;

  // ---- host-based against in-switch sequencer ----
  const hostCurve = cfg.curveClients.map((clients) => measure(buildSystem('nopaxosHostSequencer', { clients }), cfg.curve));
  const sequencers = {
    inSwitch: { peakOpsPerSec: peak(curves['nopaxos']!), lowLoadP50Us: lowLoad('nopaxos') },
    hostBased: { peakOpsPerSec: peak(hostCurve), lowLoadP50Us: hostCurve[0]!.p50Us, curve: hostCurve },
    note: 'the in-switch sequencer runs without the NOPaxos controller (the switch model does not answer its OumPing liveness probes), so it has no failover here',
  };
  say(`sequencers: host ${sequencers.hostBased.peakOpsPerSec} ops/s ${sequencers.hostBased.lowLoadP50Us} µs, switch ${sequencers.inSwitch.peakOpsPerSec} ops/s ${sequencers.inSwitch.lowLoadP50Us} µs (${lap()})`);

  // ---- the sync period ----
  // Host-based sequencer (the same peak as the in-switch one, and cheaper to simulate for the
  // second of virtual time a 1-s period needs). Warm-up and window: one period each, at least 50 ms.
  const syncPeriod = cfg.syncPeriods.map((syncMs) => {
    const w = { warmMs: Math.max(50, syncMs), windowMs: Math.max(100, syncMs) };
    const p = measure(buildSystem('nopaxosHostSequencer', { clients: cfg.syncClients, timeouts: { syncMs } }), w);
    return { syncMs, opsPerSec: p.opsPerSec, p50Us: p.p50Us, p99Us: p.p99Us };
  });
  say(`sync period: ${syncPeriod.map((p) => `${p.syncMs} ms: ${p.opsPerSec}`).join(', ')} ops/s (${lap()})`);

  // ---- sequencer failover ----
  const fo = sequencerFailover(cfg.failoverClients, cfg.failoverCrashAtMs, cfg.failoverAfterMs);
  say(`failover: detected after ${fo.detectMs} ms, resumed after ${fo.resumeMs} ms, full throughput after ${fo.fullThroughputMs} ms (${lap()})`);

  const unreplicatedPeak = peak(curves['unreplicated']!);
  const ratios = {
    nopaxosVsUnreplicatedThroughput: r3(peak(curves['nopaxos']!) / unreplicatedPeak),
    nopaxosVsUnreplicatedThroughputReferenceSync: r3(syncPeriod.find((p) => p.syncMs === 1000)!.opsPerSec / unreplicatedPeak),
    nopaxosVsPaxosThroughput: r3(peak(curves['nopaxos']!) / peak(curves['paxos']!)),
    nopaxosVsBatchingPaxosThroughput: r3(peak(curves['nopaxos']!) / peak(curves['paxosBatching']!)),
    nopaxosVsUnreplicatedLatency: r3(lowLoad('nopaxos') / lowLoad('unreplicated')),
    nopaxosVsPaxosLatency: r3(lowLoad('nopaxos') / lowLoad('paxos')),
    nopaxosThroughputAt1pctDrop: r3(atDrop('nopaxos', 0.01) / atDrop('nopaxos', 0)),
    nopaxosThroughputAt1pctDropNoGapWait: r3(atDrop('nopaxosNoGapWait', 0.01) / atDrop('nopaxosNoGapWait', 0)),
    unreplicatedThroughputAt1pctDrop: r3(atDrop('unreplicated', 0.01) / atDrop('unreplicated', 0)),
    nopaxos9vs3Replicas: r3(byN(9).nopaxos / byN(3).nopaxos),
    paxos9vs3Replicas: r3(byN(9).paxos / byN(3).paxos),
    hostVsSwitchSequencerThroughput: r3(sequencers.hostBased.peakOpsPerSec / sequencers.inSwitch.peakOpsPerSec),
    hostVsSwitchSequencerLatency: r3(sequencers.hostBased.lowLoadP50Us / sequencers.inSwitch.lowLoadP50Us),
  };
  const target = (measured: number | null, goal: string, met: boolean) => ({ measured, target: goal, met });
  const targets = {
    nopaxosVsUnreplicatedThroughput: target(ratios.nopaxosVsUnreplicatedThroughput, '>= 0.95', ratios.nopaxosVsUnreplicatedThroughput >= 0.95),
    nopaxosVsUnreplicatedThroughputReferenceSync: target(ratios.nopaxosVsUnreplicatedThroughputReferenceSync, '>= 0.95',
      ratios.nopaxosVsUnreplicatedThroughputReferenceSync >= 0.95),
    nopaxosVsPaxosThroughput: target(ratios.nopaxosVsPaxosThroughput, '>= 4', ratios.nopaxosVsPaxosThroughput >= 4),
    nopaxosVsUnreplicatedLatency: target(ratios.nopaxosVsUnreplicatedLatency, '<= 1.2', ratios.nopaxosVsUnreplicatedLatency <= 1.2),
    nopaxosThroughputAt1pctDrop: target(ratios.nopaxosThroughputAt1pctDrop, '>= 0.9', ratios.nopaxosThroughputAt1pctDrop >= 0.9),
    nopaxosFlatWithReplicas: target(ratios.nopaxos9vs3Replicas, '>= 0.9 (within 10 % of 3 replicas, at 5, 7 and 9)',
      replicas.every((r) => r.nopaxos >= 0.9 * byN(3).nopaxos)),
    paxosFallsWithReplicas: target(ratios.paxos9vs3Replicas, '< 1 (falls as replicas are added)',
      replicas.every((r, i) => i === 0 || r.paxos < replicas[i - 1]!.paxos)),
    failoverResumeMs: target(fo.resumeMs, '<= 150', fo.resumeMs !== null && fo.resumeMs <= 150),
  };
  say(`done in ${lap()}`);
  return {
    name: 'nopaxos',
    config: {
      quick: opts.quick, seed: SEED, replicas: REPLICAS, linkMs: LINK_MS, switchLinkMs: SWITCH_LINK_MS, paxosBatchSize: BATCH,
      costs: 'apps/kv/cost.ts DEFAULT_SERVICE_COSTS (per message received 2 µs, sent 1 µs, per execution 1 µs)',
      nopaxosTimeouts: `the reference's, with syncMs ${BENCH_SYNC_MS} (failover: all the reference's, syncMs 1000)`,
      curveClients: cfg.curveClients, curveWindow: cfg.curve, dropRates: cfg.dropRates, dropClients: cfg.dropClients, dropWindow: cfg.drop,
      replicaClients: cfg.replicaClients, syncClients: cfg.syncClients, failoverClients: cfg.failoverClients,
      sequencer: 'curves, drops and replica counts: the in-switch OUM sequencer (fused pipeline, no controller); sync period and failover: host-based sequencers with the controller',
    },
    results: { curves, drops, replicas, sequencers, syncPeriod, failover: fo, targets, wallMs: Math.round(performance.now() - t0) },
    ratios,
  };
}
