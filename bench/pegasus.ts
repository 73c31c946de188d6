// `switchboard bench pegasus [--quick]`: the Pegasus evaluation in sim with the storage servers'
// service-time cost model (apps/kv-hash/store.ts: about 10 us per small request, 2 ns per value
// byte), 32 servers, 100,000 keys (every one stored with a value of its size before the run, as
// the paper loads the store), 128-byte values and 64 rkeys unless said. Every figure is the
// highest throughput whose 99th-percentile latency stays under the SLO:
//   skew        Pegasus, consistent hashing (kv-hash) and NetCache against Zipf skew, with the
//               uniform workload as the ideal
//   writes      against the write ratio at Zipf 0.99 (each system against itself under a
//               uniform workload with the same write ratio)
//   valueSize   64 B to 4 KB at Zipf 0.99: NetCache caches values up to 128 B only
//   rkeys       Pegasus with 0..128 rkeys
//   dynamic     hot-in (100 cold keys jump to the top every period) at 80% of Pegasus's SLO
//               throughput: a throughput and p99 timeline, the dip and the time back within 10%
//   rackFailure beyond the paper: a 2-rack chain at 60% of Pegasus's Zipf 0.99 figure; the tail
//               rack's switch crashes, and restarts later: a timeline, how long until the rack
//               left the chain and the service was back, and how long its join took
//   hashBalance how evenly consistent hashing (16 virtual nodes per server, as the reference)
//               spreads keys and load over the 32 servers, and the bound that puts on it
//
// How a point is measured: one simulation per seed (Pegasus first warms up so that its
// controller has found the hot keys) raises an open-loop Poisson load in coarse steps until a
// step misses the SLO, then bisects between the last good and the first bad rate. A step is
// judged on the requests that arrived in its window after a settling time: requests not answered
// by the end of the window plus twice the SLO count as too slow, and both the whole window and
// its second half must meet the SLO (a queue still growing fails). After a failed step the load
// drops until the queues have drained. Each point is the median over seeds (their first rates
// dithered, so the median resolves finer than the steps); the spread over seeds is reported with
// it. Seeds run in parallel child processes (one per core, at most two). Ratios are computed from
// figures of this run. PEGASUS_BENCH_TRACE=1 prints every step.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runSim, type ActorRef, type Msg, type SimRuntime } from '../actors/index.ts';
import { keyHash, Ring, VNODES } from '../apps/kv-hash/ring.ts';
import { DEFAULT_STORAGE_COSTS } from '../apps/kv-hash/store.ts';
import { kvHashTopology } from '../apps/kv-hash/topology.ts';
import { netcacheTopology } from '../apps/netcache/topology.ts';
import type { Controller } from '../apps/pegasus/controller.ts';
import type { ReadPolicy } from '../apps/pegasus/switch-program.ts';
import { pegasusTopology } from '../apps/pegasus/topology.ts';
import { LoadStats } from '../apps/workload/stats.ts';
import { keyName, Workload, type DynamicPattern, type WorkloadSpec } from '../apps/workload/workload.ts';
import type { BenchOptions, BenchResult } from './types.ts';

type System = 'pegasus' | 'netcache' | 'kv-hash';

const SERVERS = 32;
const KEYS = 100_000;
const CLIENTS = 8;
const SESSIONS = 512;
/** p99 latency SLO (ms): about three times the unloaded round trip. */
const SLO_MS = 0.1;
/** A server's capacity for small requests (requests per ms). */
const PER_SERVER = 1 / (DEFAULT_STORAGE_COSTS.recvMs + DEFAULT_STORAGE_COSTS.sendMs + DEFAULT_STORAGE_COSTS.executeMs);
/** The rack's raw capacity for small requests: every server busy all the time. */
const RAW = SERVERS * PER_SERVER;
/** Controller epoch of Pegasus in these runs (ms); servers report every REPORT_MS. */
const EPOCH_MS = 2;
const REPORT_MS = 1;
/**
 * Rkeys Pegasus's controller adds per epoch, at most: an add pushes the key to every server, so
 * adding many at once queues that many pushes at every server (a latency spike).
 */
const MAX_CHURN = 16;
/**
 * Pegasus's read policy here: least loaded of two members of the set (by the load servers
 * piggyback on replies). Round robin spreads an rkey's reads evenly, also onto the servers that
 * consistent hashing already loads most; the skew figure reports it at Zipf 0.99 too.
 */
const READ_POLICY: ReadPolicy = 'least-loaded';

export interface Point {
  readonly system: System;
  readonly zipf: number;
  readonly readRatio: number;
  readonly valueBytes: number;
  readonly rkeys?: number;
  readonly pattern?: DynamicPattern;
  /** Pegasus's read policy, if not READ_POLICY. */
  readonly policy?: ReadPolicy;
}

/** How long each step runs and how finely the knee is searched. */
interface Mode {
  readonly settleMs: number;
  readonly windowMs: number;
  readonly coarse: number;
  readonly bisections: number;
  readonly seeds: number;
}

const QUICK: Mode = { settleMs: 0.5, windowMs: 1.5, coarse: 1.4, bisections: 3, seeds: 3 };
const FULL: Mode = { settleMs: 1, windowMs: 4, coarse: 1.3, bisections: 4, seeds: 5 };

export interface RampResult {
  /** Highest offered load (ops/ms) whose step met the SLO. */
  readonly maxRatePerMs: number;
  /** Completions per ms in that step. */
  readonly throughputPerMs: number;
  readonly p99Ms: number;
  readonly steps: number;
  /** The search stopped at its ceiling (4x the rack's raw capacity) without a miss. */
  readonly capped: boolean;
}

/** Records arrival times and, per completion, start and end, for per-step windows. */
class StepStats extends LoadStats {
  readonly arrivalsAt: number[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  override arrived(atMs: number): void {
    super.arrived(atMs);
    this.arrivalsAt.push(atMs);
  }
  override record(startMs: number, endMs: number, read: boolean): void {
    super.record(startMs, endMs, read);
    this.starts.push(startMs);
    this.ends.push(endMs);
  }
}

interface Built {
  readonly sim: SimRuntime;
  readonly clients: readonly ActorRef<Msg>[];
  readonly stats: StepStats;
  readonly controller?: ActorRef<Msg>;
}

function workloadOf(p: Point): WorkloadSpec {
  return { keys: KEYS, zipf: p.zipf, readRatio: p.readRatio, valueSize: { kind: 'fixed', bytes: p.valueBytes }, pattern: p.pattern };
}

function build(p: Point, seed: number, ratePerMs: number, bucketMs = 0.5): Built {
  const workload = workloadOf(p);
  const stats = new StepStats(0, Infinity, bucketMs, 10_000_000);
  const common = {
    servers: SERVERS, clients: CLIENTS, sessions: SESSIONS, mode: 'open' as const, ratePerMs: ratePerMs / CLIENTS, startDelayMs: 0.01,
    workload, stats, timeoutMs: 50, maxAttempts: 1, populate: true,
  };
  const run = (topology: Parameters<typeof runSim>[0]): SimRuntime => runSim(topology, { seed, logLevel: 'silent', trace: false });
  if (p.system === 'pegasus') {
    const capacity = Math.max(1, p.rkeys ?? 64);
    const t = pegasusTopology({
      ...common, capacity, readPolicy: p.policy ?? READ_POLICY, sampleEvery: 2, reportMs: REPORT_MS, reportTop: 64,
      controller: { autoRkeys: (p.rkeys ?? 64) > 0, epochMs: EPOCH_MS, maxChurn: MAX_CHURN, probeMs: 5, failAfterMs: 1000, rackFailAfterMs: 10_000 },
    });
    return { sim: run(t.topology), clients: t.clients as readonly ActorRef<Msg>[], stats, controller: t.controller as ActorRef<Msg> };
  }
  if (p.system === 'netcache') {
    // The cache starts filled with the hottest keys, as in the paper's experiments.
    const w = new Workload(workload);
    const preload = Array.from({ length: 10_000 }, (_, r) => keyName(w.keyOfRank(r + 1)));
    const t = netcacheTopology({ ...common, preload, cache: { cacheSize: 10_000 }, controller: { parallel: 512 } });
    return { sim: run(t.topology), clients: t.clients as readonly ActorRef<Msg>[], stats };
  }
  const t = kvHashTopology(common);
  return { sim: run(t.topology), clients: t.clients as readonly ActorRef<Msg>[], stats };
}

function setRate(b: Built, ratePerMs: number): void {
  for (const c of b.clients) b.sim.send(c, { type: 'LoadSetRate', ratePerMs: ratePerMs / CLIENTS });
}

/** First index of a sorted array whose value is >= x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * p99 latency of the requests that arrived in [from, to), those not answered counting as
 * infinitely slow; and the completions in the window.
 */
function judge(s: StepStats, from: number, to: number): { p99: number; completed: number; arrived: number } {
  const arrived = lowerBound(s.arrivalsAt, to) - lowerBound(s.arrivalsAt, from);
  const lat: number[] = [];
  let completed = 0;
  // Completions are recorded in end order; a request that ended before `from` started before it.
  for (let i = lowerBound(s.ends, from); i < s.ends.length; i++) {
    const st = s.starts[i]!;
    if (s.ends[i]! < to) completed++;
    if (st >= from && st < to) lat.push(s.ends[i]! - st);
  }
  if (arrived === 0) return { p99: Infinity, completed, arrived };
  const sorted = Float64Array.from(lat).sort();
  const q = Math.ceil(0.99 * arrived) - 1;
  return { p99: q < sorted.length ? sorted[q]! : Infinity, completed, arrived };
}

/** The highest rate meeting the SLO for point `p` with one seed. */
export function ramp(p: Point, quick: boolean, seed: number): RampResult {
  const m = quick ? QUICK : FULL;
  const auto = p.system === 'pegasus' && (p.rkeys ?? 64) > 0;
  const b = build(p, seed, 0.05 * RAW);
  // Pegasus warms up so that its controller finds the hot keys from the servers' samples, and
  // holds the load a few epochs more for the last adds to finish.
  if (auto) {
    warmUp(b, 0.35 * RAW);
    b.sim.advance(3 * EPOCH_MS);
  }
  // Every system drains at a low rate before the ramp starts.
  setRate(b, 0.05 * RAW);
  b.sim.advance(1);
  let steps = 0;
  let best: RampResult = { maxRatePerMs: 0, throughputPerMs: 0, p99Ms: Infinity, steps: 0, capped: false };
  const ceiling = 4 * RAW;
  /** Offer `r` for one step; true if it met the SLO. */
  const step = (r: number): boolean => {
    setRate(b, r);
    b.sim.advance(m.settleMs);
    const from = b.sim.now();
    const to = from + m.windowMs;
    b.sim.advance(m.windowMs + 2 * SLO_MS);
    steps++;
    const mid = (from + to) / 2;
    const all = judge(b.stats, from, to);
    const late = judge(b.stats, mid, to);
    const ok = all.p99 <= SLO_MS && late.p99 <= SLO_MS;
    if (process.env['PEGASUS_BENCH_TRACE']) {
      const c = b.controller ? b.sim.stateOf<Controller>(b.controller) : undefined;
      process.stderr.write(`  step ${r.toFixed(0)} t=${from.toFixed(1)} p99 ${all.p99.toFixed(3)}/${late.p99.toFixed(3)} arrived ${all.arrived} done ${all.completed} ${ok ? 'ok' : 'FAIL'}${c ? ` rkeys ${c.rkeys.size} adds ${c.stats.adds} rm ${c.stats.removes} busy ${c.current?.kind ?? '-'}` : ''}\n`);
    }
    if (ok && r > best.maxRatePerMs) best = { maxRatePerMs: r, throughputPerMs: all.completed / m.windowMs, p99Ms: all.p99, steps, capped: false };
    return ok;
  };
  /**
   * After a failed step, let the queues drain before the next: a quarter of the last good rate
   * until the requests of the last half millisecond all met the SLO. (A system can stay in an
   * overloaded state below the rate that got it there: NetCache's hottest key, invalidated by a
   * write before the reply to the last write came back from behind its server's queue, is not
   * cached any more and sends all its reads to that server.)
   */
  const drain = (): void => {
    setRate(b, Math.max(0.25 * best.maxRatePerMs, 0.02 * RAW));
    for (let i = 0; i < 40; i++) {
      b.sim.advance(1);
      const now = b.sim.now() - 2 * SLO_MS;
      if (judge(b.stats, now - 0.5, now).p99 <= SLO_MS) break;
    }
  };
  let good = 0;
  let bad = Infinity;
  // The first rate is dithered by seed, so that seeds probe different rates and their median
  // resolves finer than the steps.
  const dither = Math.pow(m.coarse, (seed * 0.6180339887) % 1);
  // Pegasus, warmed up, starts where its warm-up ended; the others low. A first step that fails
  // is followed by lower ones until one passes.
  let r = (auto ? 0.3 : 0.05) * RAW * dither;
  if (step(r)) {
    good = r;
    for (r *= m.coarse; r <= ceiling; r *= m.coarse) {
      if (!step(r)) { bad = r; break; }
      good = r;
    }
  } else {
    bad = r;
    while (r > 0.01 * RAW) {
      drain();
      r /= m.coarse;
      if (step(r)) { good = r; break; }
      bad = r;
    }
  }
  if (bad === Infinity) {
    void b.sim.shutdown();
    return { ...best, steps, capped: true };
  }
  drain();
  if (good > 0) {
    for (let i = 0; i < m.bisections; i++) {
      const r = Math.sqrt(good * bad);
      if (step(r)) good = r;
      else { bad = r; drain(); }
    }
  }
  void b.sim.shutdown();
  return { ...best, steps };
}

export interface DynamicRun {
  readonly offeredPerMs: number;
  /** Goodput (completions within the SLO per ms) before the first shift. */
  readonly steadyPerMs: number;
  /** Per shift: lowest goodput in a bucket after it, as a fraction of steady. */
  readonly dipFraction: number[];
  /** Per shift: ms until goodput is back within 10% of steady (three buckets in a row). */
  readonly recoveryMs: number[];
  /** Per shift: ms until the p99 of each bucket's requests is back under the SLO (3 buckets). */
  readonly latencyRecoveryMs: number[];
  /** Per shift: ms until the ten hottest keys are all rkeys. */
  readonly top10ReplicatedMs: number[];
  readonly rkeyAdds: number;
  readonly rkeyRemoves: number;
  readonly timelinePerMs: number[];
  /** Completions within the SLO per ms. */
  readonly goodputTimelinePerMs: number[];
  readonly p99TimelineMs: number[];
}

/** Warm-up of Pegasus: ten controller epochs under a load growing from 5% of the rack to `to`. */
function warmUp(b: Built, to: number): void {
  // Gradually: a hot key's home overloaded before the key is an rkey answers the controller
  // late, from behind its queue, and the add waits for it.
  const from = 0.05 * RAW;
  for (let i = 0; i < 10; i++) {
    setRate(b, from * Math.pow(to / from, i / 9));
    b.sim.advance(EPOCH_MS);
  }
}

/**
 * Completions per ms in each bucket, and goodput: the completions within the SLO, per bucket of
 * completion time (what the figures measure).
 */
function perBucket(stats: StepStats, buckets: number, bucketMs: number): { timeline: number[]; good: number[] } {
  const timeline = stats.timeline.slice(0, buckets).map((n) => n / bucketMs);
  while (timeline.length < buckets) timeline.push(0);
  const good = new Array<number>(buckets).fill(0);
  for (let i = 0; i < stats.ends.length; i++) {
    const bi = Math.floor(stats.ends[i]! / bucketMs);
    if (bi < buckets && stats.ends[i]! - stats.starts[i]! <= SLO_MS) good[bi]! += 1 / bucketMs;
  }
  return { timeline, good };
}

export const DYNAMIC = {
  quick: { periodMs: 20, shifts: 2 },
  full: { periodMs: 40, shifts: 3 },
  /** Warm-up (the load grows), then steady load until the first shift. */
  warmMs: 10 * EPOCH_MS,
  steadyMs: 10,
  bucketMs: 0.5,
} as const;

/** Hot-in at `rate`: a throughput and latency timeline, the dip and the recovery after each shift. */
export function dynamic(quick: boolean, rate: number, seed: number): DynamicRun {
  const { periodMs, shifts } = quick ? DYNAMIC.quick : DYNAMIC.full;
  const { warmMs, steadyMs, bucketMs } = DYNAMIC;
  const firstShift = warmMs + steadyMs;
  const totalMs = firstShift + shifts * periodMs;
  const p: Point = {
    system: 'pegasus', zipf: 0.99, readRatio: 0.95, valueBytes: 128,
    pattern: { kind: 'hot-in', periodMs, count: 100, startMs: firstShift - periodMs },
  };
  const b = build(p, seed, 0.05 * RAW, bucketMs);
  warmUp(b, rate);
  setRate(b, rate);
  // Follow the controller: when are the ten hottest keys of each period rkeys again?
  const w = new Workload(workloadOf(p));
  const replicated: number[] = [];
  for (let k = 0; k < shifts; k++) {
    const at = firstShift + k * periodMs;
    b.sim.advance(at - b.sim.now());
    w.advance(at);
    const top = Array.from({ length: 10 }, (_, r) => keyName(w.keyOfRank(r + 1)));
    let when = Infinity;
    while (b.sim.now() < at + periodMs - 1e-9) {
      b.sim.advance(bucketMs);
      const rk = b.sim.stateOf<Controller>(b.controller!)!.rkeys;
      if (when === Infinity && top.every((key) => rk.has(key))) when = round(b.sim.now() - at);
    }
    replicated.push(when);
  }
  b.sim.advance(2 * SLO_MS);
  const buckets = Math.floor(totalMs / bucketMs);
  const { timeline, good } = perBucket(b.stats, buckets, bucketMs);
  // p99 of the requests that arrived in each bucket (unanswered ones count as too slow).
  const p99s = Array.from({ length: buckets }, (_, i) => judge(b.stats, i * bucketMs, (i + 1) * bucketMs).p99);
  const c = b.sim.stateOf<Controller>(b.controller!)!;
  // Steady state: the last 5 ms before the first shift.
  const steadyFrom = Math.floor((firstShift - 5) / bucketMs);
  const steadyTo = Math.floor(firstShift / bucketMs);
  const steady = good.slice(steadyFrom, steadyTo).reduce((a, x) => a + x, 0) / (steadyTo - steadyFrom);
  const dip: number[] = [];
  const back: number[] = [];
  const latBack: number[] = [];
  for (let k = 0; k < shifts; k++) {
    const i0 = Math.floor((firstShift + k * periodMs) / bucketMs);
    const i1 = Math.min(buckets, i0 + Math.floor(periodMs / bucketMs));
    dip.push(Math.min(...good.slice(i0, i1)) / steady);
    // The first bucket after the shift from which three in a row are good.
    const firstRun = (good: (i: number) => boolean): number => {
      for (let i = i0; i + 2 < i1; i++) if (good(i) && good(i + 1) && good(i + 2)) return (i - i0) * bucketMs;
      return Infinity;
    };
    back.push(firstRun((i) => good[i]! >= 0.9 * steady));
    latBack.push(firstRun((i) => p99s[i]! <= SLO_MS));
  }
  void b.sim.shutdown();
  const from = Math.floor(warmMs / bucketMs);
  return {
    offeredPerMs: round(rate), steadyPerMs: round(steady), dipFraction: dip.map((x) => round(x, 3)), recoveryMs: back, latencyRecoveryMs: latBack,
    top10ReplicatedMs: replicated, rkeyAdds: c.stats.adds, rkeyRemoves: c.stats.removes,
    timelinePerMs: timeline.slice(from).map((x) => Math.round(x)), goodputTimelinePerMs: good.slice(from).map((x) => Math.round(x)), p99TimelineMs: p99s.slice(from).map((x) => (Number.isFinite(x) ? round(x, 3) : -1)),
  };
}

export const RACK_FAILURE = {
  quick: { downMs: 50, afterMs: 40 },
  full: { downMs: 60, afterMs: 60 },
  /** Warm-up (the load grows), then steady load until the crash. */
  warmMs: 10 * EPOCH_MS,
  steadyMs: 10,
  bucketMs: 0.5,
  /** The controller's: a switch silent this long takes its rack out of the chain. */
  rackFailAfterMs: 10,
  /**
   * Clients resend after this (with backoff): requests to the failed rack are lost. 50 times the
   * SLO: with 1 ms the backlog of a 15-ms outage never drained (every request still queued at a
   * server was sent again, and the copies kept the queues longer than the timeout: completions
   * stayed at two thirds of the offered load for as long as it was run).
   */
  timeoutMs: 5,
} as const;

export interface RackFailureRun {
  readonly offeredPerMs: number;
  /** Goodput (completions within the SLO per ms) over the 5 ms before the crash. */
  readonly steadyPerMs: number;
  readonly crashAtMs: number;
  readonly restartAtMs: number;
  /** From the crash until the rack is out of the chain. */
  readonly leftAfterMs: number;
  /** From the crash until goodput is back within 10% of steady (three buckets in a row). */
  readonly backAfterCrashMs: number;
  /** From the restart until the join starts, and how long the join takes (until the clients read there). */
  readonly joinStartAfterMs: number;
  readonly joinMs: number;
  /** From the join's end until goodput is within 10% of steady (three buckets), and the lowest goodput in between (fraction of steady). */
  readonly backAfterJoinMs: number;
  readonly joinDipFraction: number;
  readonly timelinePerMs: number[];
  readonly goodputTimelinePerMs: number[];
}

/**
 * A 2-rack chain under an open-loop load at `rate`: the tail rack's switch crashes after the
 * warm-up and restarts `downMs` later. Clients resend (with backoff) what the failed rack loses.
 */
export function rackFailure(quick: boolean, rate: number, seed: number): RackFailureRun {
  const { downMs, afterMs } = quick ? RACK_FAILURE.quick : RACK_FAILURE.full;
  const { warmMs, steadyMs, bucketMs } = RACK_FAILURE;
  const stats = new StepStats(0, Infinity, bucketMs, 10_000_000);
  const t = pegasusTopology({
    racks: 2, servers: SERVERS, clients: CLIENTS, sessions: SESSIONS, mode: 'open', ratePerMs: (0.05 * RAW) / CLIENTS, startDelayMs: 0.01,
    workload: workloadOf({ system: 'pegasus', zipf: 0.99, readRatio: 0.95, valueBytes: 128 }), stats, timeoutMs: RACK_FAILURE.timeoutMs, populate: true,
    capacity: 64, readPolicy: READ_POLICY, sampleEvery: 2, reportMs: REPORT_MS, reportTop: 64,
    controller: { epochMs: EPOCH_MS, maxChurn: MAX_CHURN, rackFailAfterMs: RACK_FAILURE.rackFailAfterMs },
  });
  const b: Built = { sim: runSim(t.topology, { seed, logLevel: 'silent', trace: false }), clients: t.clients as readonly ActorRef<Msg>[], stats };
  warmUp(b, rate);
  setRate(b, rate);
  const crashAt = warmMs + steadyMs;
  const restartAt = crashAt + downMs;
  const endAt = restartAt + afterMs;
  const c = (): Controller => b.sim.stateOf<Controller>(t.controller)!;
  let left = Infinity;
  let joinStart = Infinity;
  let joined = Infinity;
  b.sim.advance(crashAt - b.sim.now());
  b.sim.crash(t.switchHosts[1]!);
  // Follow the controller, a bucket at a time.
  let down = true;
  while (b.sim.now() < endAt - 1e-9) {
    if (down && b.sim.now() >= restartAt - 1e-9) {
      b.sim.restart(t.switchHosts[1]!);
      down = false;
    }
    b.sim.advance(bucketMs);
    const ctl = c();
    if (left === Infinity && !ctl.chain.includes(1)) left = b.sim.now();
    if (joinStart === Infinity && left < Infinity && (ctl.current?.kind === 'join' || ctl.catchingUp === 1)) joinStart = b.sim.now();
    if (joined === Infinity && ctl.stats.rackJoins >= 1) joined = b.sim.now();
  }
  b.sim.advance(2 * SLO_MS);
  const buckets = Math.floor(endAt / bucketMs);
  const { timeline, good } = perBucket(b.stats, buckets, bucketMs);
  const at = (ms: number): number => Math.floor(ms / bucketMs);
  const steady = good.slice(at(crashAt - 5), at(crashAt)).reduce((a, x) => a + x, 0) / (at(crashAt) - at(crashAt - 5));
  /** ms from `from` until three buckets in a row are within 10% of steady, looking no further than `to`. */
  const backFrom = (from: number, to: number): number => {
    for (let i = at(from); i + 2 < Math.min(at(to), buckets); i++) {
      if ([0, 1, 2].every((d) => good[i + d]! >= 0.9 * steady)) return round((i - at(from)) * bucketMs, 1);
    }
    return Infinity;
  };
  void b.sim.shutdown();
  const from = at(warmMs);
  return {
    offeredPerMs: round(rate), steadyPerMs: round(steady), crashAtMs: crashAt, restartAtMs: restartAt,
    leftAfterMs: round(left - crashAt, 1), backAfterCrashMs: backFrom(crashAt, restartAt),
    joinStartAfterMs: round(joinStart - restartAt, 1), joinMs: round(joined - joinStart, 1),
    backAfterJoinMs: joined < Infinity ? backFrom(joined, endAt) : Infinity,
    joinDipFraction: round(Math.min(...good.slice(at(restartAt), at(endAt))) / steady, 3),
    timelinePerMs: timeline.slice(from).map((x) => Math.round(x)), goodputTimelinePerMs: good.slice(from).map((x) => Math.round(x)),
  };
}

/** How consistent hashing spreads 100,000 keys and their load over 32 servers. */
export function hashBalance(skews: readonly number[]): Record<string, unknown> {
  const ring = new Ring(SERVERS);
  const homes = new Int32Array(KEYS);
  for (let k = 0; k < KEYS; k++) homes[k] = ring.home(keyHash(keyName(k)));
  const maxOverMean = (load: Float64Array): number => (Math.max(...load) * SERVERS) / load.reduce((a, x) => a + x, 0);
  const keys = new Float64Array(SERVERS);
  for (let k = 0; k < KEYS; k++) keys[homes[k]!]!++;
  const load: Record<string, { maxOverMean: number; hottestKeyShare: number; boundPerMs: number }> = {};
  for (const z of skews) {
    const w = new Workload({ keys: KEYS, zipf: z, readRatio: 1, valueSize: { kind: 'fixed', bytes: 128 } });
    const l = new Float64Array(SERVERS);
    let norm = 0;
    for (let r = 1; r <= KEYS; r++) norm += Math.pow(r, -z);
    for (let r = 1; r <= KEYS; r++) l[homes[w.keyOfRank(r)]!]! += Math.pow(r, -z) / norm;
    const mom = maxOverMean(l);
    // The most loaded server saturates first: the rack can do at most RAW / (that server's factor).
    load[String(z)] = { maxOverMean: round(mom, 3), hottestKeyShare: round(1 / norm, 4), boundPerMs: Math.round(RAW / mom) };
  }
  return {
    servers: SERVERS, virtualNodesPerServer: VNODES, keys: KEYS, keysMaxOverMean: round(maxOverMean(keys), 3),
    keysMinOverMean: round((Math.min(...keys) * SERVERS) / KEYS, 3), load,
    note: 'boundPerMs: the rack saturates when its most loaded server does (raw capacity, before the SLO)',
  };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Number.isFinite(x) ? Math.round(x * f) / f : x;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// ---- running jobs in parallel child processes ---------------------------------------------------

type Job =
  | { readonly kind: 'ramp'; readonly point: Point; readonly seed: number; readonly quick: boolean }
  | { readonly kind: 'dynamic' | 'rackFailure'; readonly rate: number; readonly seed: number; readonly quick: boolean };

function runJob(j: Job): RampResult | DynamicRun | RackFailureRun {
  if (j.kind === 'ramp') return ramp(j.point, j.quick, j.seed);
  return j.kind === 'dynamic' ? dynamic(j.quick, j.rate, j.seed) : rackFailure(j.quick, j.rate, j.seed);
}

const SELF = fileURLToPath(import.meta.url);

/** Run `jobs` on up to two child processes (one per core); results in job order. */
async function runJobs(jobs: readonly Job[], onDone: (j: Job, r: unknown) => void): Promise<unknown[]> {
  const out: unknown[] = new Array(jobs.length);
  const workers = Math.max(1, Math.min(2, availableParallelism(), jobs.length));
  if (workers === 1) {
    jobs.forEach((j, i) => {
      out[i] = runJob(j);
      onDone(j, out[i]);
    });
    return out;
  }
  let next = 0;
  await Promise.all(Array.from({ length: workers }, () => new Promise<void>((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--worker'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let current = -1;
    const feed = (): void => {
      if (next >= jobs.length) {
        proc.stdin.end();
        return;
      }
      current = next++;
      proc.stdin.write(`${JSON.stringify(jobs[current])}\n`);
    };
    createInterface({ input: proc.stdout }).on('line', (line) => {
      out[current] = JSON.parse(line);
      onDone(jobs[current]!, out[current]);
      feed();
    });
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench pegasus worker exited with ${code}`))));
    feed();
  })));
  return out;
}

/** Worker mode: one job per stdin line, one result per stdout line. */
async function worker(): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    process.stdout.write(`${JSON.stringify(runJob(JSON.parse(line) as Job))}\n`);
  }
}

if (process.argv[1] === SELF && process.argv.includes('--worker')) await worker();

// ---- the figures ------------------------------------------------------------------------------------

interface Figure {
  /** Median over seeds of the highest rate meeting the SLO (ops/ms). */
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export async function benchPegasus(opts: BenchOptions): Promise<BenchResult> {
  const quick = opts.quick;
  const m = quick ? QUICK : FULL;
  const say = opts.progress ?? (() => {});
  const t0 = performance.now();
  const systems: System[] = ['pegasus', 'kv-hash', 'netcache'];
  const skews = [0, 0.5, 0.9, 0.99, 1.2];
  const writeRatios = [0, 0.1, 0.5, 1];
  const sizes = quick ? [64, 128, 4096] : [64, 128, 512, 1024, 4096];
  const rkeyCounts = quick ? [0, 8, 32, 64] : [0, 8, 16, 32, 64, 128];
  const base = (system: System, zipf: number): Point => ({ system, zipf, readRatio: 0.95, valueBytes: 128 });

  // Every distinct point once (the figures share some: 128 B at Zipf 0.99 is the skew figure's).
  const points = new Map<string, Point>();
  const add = (p: Point): string => {
    const k = JSON.stringify(p);
    points.set(k, p);
    return k;
  };
  const skewKeys = systems.map((s) => skews.map((z) => add(base(s, z))));
  const writeKeys = systems.map((s) => writeRatios.map((w) => {
    // Consistent hashing costs the same per read and per write: in --quick only 50% is run.
    if (s === 'kv-hash' && quick && w !== 0.5) return undefined;
    return [add({ system: s, zipf: 0.99, readRatio: 1 - w, valueBytes: 128 }), add({ system: s, zipf: 0, readRatio: 1 - w, valueBytes: 128 })] as const;
  }));
  const sizeKeys = systems.map((s) => sizes.map((bytes) => add({ system: s, zipf: 0.99, readRatio: 0.95, valueBytes: bytes })));
  const rkeyKeys = rkeyCounts.map((n) => add(n === 64 ? base('pegasus', 0.99) : { ...base('pegasus', 0.99), rkeys: n }));
  // Beside the figures: Pegasus with round-robin reads at Zipf 0.99, and both systems read-only
  // at Zipf 1.2 (where a write to the hottest key, every ~80 us, collapses its replica set).
  const rrKey = add({ ...base('pegasus', 0.99), policy: 'round-robin' });
  const readOnly12 = (['pegasus', 'kv-hash'] as const).map((s) => add({ system: s, zipf: 1.2, readRatio: 1, valueBytes: 128 }));

  // The points behind the ratios get every seed; in --quick the others get one.
  const ratioKeys = new Set([
    skewKeys[0]![0]!, skewKeys[0]![3]!, skewKeys[0]![4]!, skewKeys[1]![4]!,
    ...writeKeys[0]![2]!, ...writeKeys[0]![3]!, writeKeys[2]![2]![0],
    sizeKeys[0]![sizes.length - 1]!, sizeKeys[1]![sizes.length - 1]!, sizeKeys[2]![sizes.length - 1]!,
  ]);
  const seedsOf = (k: string): number => (quick && !ratioKeys.has(k) ? 1 : m.seeds);
  const keys = [...points.keys()];
  const jobs: Job[] = keys.flatMap((k) => Array.from({ length: seedsOf(k) }, (_, s) => ({ kind: 'ramp' as const, point: points.get(k)!, seed: s + 1, quick })));
  say(`${keys.length} points, ${jobs.length} runs (${m.seeds} seeds for the ${ratioKeys.size} points behind the ratios${quick ? ', 1 for the others' : ''})`);
  const results = (await runJobs(jobs, (j, r) => {
    if (j.kind !== 'ramp') return;
    const rr = r as RampResult;
    const p = j.point;
    say(`${p.system} zipf ${p.zipf} writes ${Math.round((1 - p.readRatio) * 100)}% ${p.valueBytes} B${p.rkeys !== undefined ? ` rkeys ${p.rkeys}` : ''}${p.policy ? ` ${p.policy}` : ''} seed ${j.seed}: `
      + `${Math.round(rr.maxRatePerMs)} ops/ms${rr.capped ? ' (ceiling)' : ''} (${rr.steps} steps, ${Math.round((performance.now() - t0) / 1000)} s)`);
  })) as RampResult[];
  const fig = new Map<string, Figure & { capped: boolean }>();
  let at = 0;
  keys.forEach((k) => {
    const xs = results.slice(at, at + seedsOf(k));
    at += seedsOf(k);
    const rates = xs.map((r) => r.maxRatePerMs);
    fig.set(k, { median: Math.round(median(rates)), min: Math.round(Math.min(...rates)), max: Math.round(Math.max(...rates)), capped: xs.some((r) => r.capped) });
  });
  const val = (k: string | undefined): number => (k === undefined ? NaN : fig.get(k)!.median);
  const spread = (k: string): [number, number] => [fig.get(k)!.min, fig.get(k)!.max];

  const skew: Record<string, Record<string, number>> = {};
  const skewSpread: Record<string, Record<string, [number, number]>> = {};
  systems.forEach((s, i) => {
    skew[s] = {};
    skewSpread[s] = {};
    skews.forEach((z, j) => {
      skew[s]![String(z)] = val(skewKeys[i]![j]);
      skewSpread[s]![String(z)] = spread(skewKeys[i]![j]!);
    });
  });
  const writes: Record<string, Record<string, { zipf099: number; uniform: number }>> = {};
  systems.forEach((s, i) => {
    writes[s] = {};
    writeRatios.forEach((w, j) => {
      const pair = writeKeys[i]![j];
      if (pair) writes[s]![`${w * 100}%`] = { zipf099: val(pair[0]), uniform: val(pair[1]) };
    });
  });
  const valueSize: Record<string, Record<string, number>> = {};
  systems.forEach((s, i) => {
    valueSize[s] = {};
    sizes.forEach((bytes, j) => { valueSize[s]![`${bytes}B`] = val(sizeKeys[i]![j]); });
  });
  const rkeys: Record<string, number> = {};
  rkeyCounts.forEach((n, j) => { rkeys[String(n)] = val(rkeyKeys[j]); });
  const capped = keys.filter((k) => fig.get(k)!.capped).map((k) => points.get(k)!);
  const extra = {
    pegasusRoundRobinAtZipf099: val(rrKey),
    readOnlyAtZipf12: { pegasus: val(readOnly12[0]), 'kv-hash': val(readOnly12[1]) },
  };

  // Dynamic hot-in at 80% of what Pegasus sustains at Zipf 0.99 under the SLO: enough that the
  // new hot keys' homes saturate until the controller replicates them.
  const pegasus099 = skew['pegasus']!['0.99']!;
  const dynRate = 0.8 * pegasus099;
  const dynSeeds = quick ? 1 : 3;
  say(`dynamic hot-in at ${Math.round(dynRate)} ops/ms (${dynSeeds} seed${dynSeeds > 1 ? 's' : ''})`);
  const dynRuns = (await runJobs(
    Array.from({ length: dynSeeds }, (_, s) => ({ kind: 'dynamic' as const, rate: dynRate, seed: s + 1, quick })), () => {},
  )) as DynamicRun[];
  const worstRecovery = median(dynRuns.map((d) => Math.max(...d.recoveryMs)));
  const dyn = {
    offeredPerMs: round(dynRate), ...(quick ? DYNAMIC.quick : DYNAMIC.full), bucketMs: DYNAMIC.bucketMs, controllerEpochMs: EPOCH_MS, seeds: dynSeeds,
    timelineStartsMs: DYNAMIC.warmMs, firstShiftMs: DYNAMIC.warmMs + DYNAMIC.steadyMs,
    recoveryMsPerSeed: dynRuns.map((d) => d.recoveryMs), latencyRecoveryMsPerSeed: dynRuns.map((d) => d.latencyRecoveryMs),
    top10ReplicatedMsPerSeed: dynRuns.map((d) => d.top10ReplicatedMs),
    dipFractionPerSeed: dynRuns.map((d) => d.dipFraction), steadyPerMsPerSeed: dynRuns.map((d) => d.steadyPerMs),
    worstRecoveryMsMedian: worstRecovery, withinEpochPlus100ms: worstRecovery <= EPOCH_MS + 100,
    rkeyAdds: dynRuns[0]!.rkeyAdds, rkeyRemoves: dynRuns[0]!.rkeyRemoves,
    timelinePerMs: dynRuns[0]!.timelinePerMs, goodputTimelinePerMs: dynRuns[0]!.goodputTimelinePerMs, p99TimelineMs: dynRuns[0]!.p99TimelineMs,
  };

  // A rack failure and its join, at 60% of what Pegasus sustains at Zipf 0.99 under the SLO.
  const rfRate = 0.6 * pegasus099;
  const rfSeeds = quick ? 1 : 3;
  say(`rack failure and join at ${Math.round(rfRate)} ops/ms (${rfSeeds} seed${rfSeeds > 1 ? 's' : ''})`);
  const rfRuns = (await runJobs(
    Array.from({ length: rfSeeds }, (_, s) => ({ kind: 'rackFailure' as const, rate: rfRate, seed: s + 1, quick })), () => {},
  )) as RackFailureRun[];
  const perSeed = <K extends keyof RackFailureRun>(k: K): RackFailureRun[K][] => rfRuns.map((r) => r[k]);
  const rackFail = {
    offeredPerMs: round(rfRate), racks: 2, ...(quick ? RACK_FAILURE.quick : RACK_FAILURE.full), bucketMs: RACK_FAILURE.bucketMs,
    rackFailAfterMs: RACK_FAILURE.rackFailAfterMs, clientTimeoutMs: RACK_FAILURE.timeoutMs, seeds: rfSeeds,
    timelineStartsMs: RACK_FAILURE.warmMs, crashAtMs: rfRuns[0]!.crashAtMs, restartAtMs: rfRuns[0]!.restartAtMs,
    steadyPerMsPerSeed: perSeed('steadyPerMs'), leftAfterMsPerSeed: perSeed('leftAfterMs'), backAfterCrashMsPerSeed: perSeed('backAfterCrashMs'),
    joinStartAfterMsPerSeed: perSeed('joinStartAfterMs'), joinMsPerSeed: perSeed('joinMs'), backAfterJoinMsPerSeed: perSeed('backAfterJoinMs'),
    joinDipFractionPerSeed: perSeed('joinDipFraction'),
    backAfterCrashMsMedian: median(perSeed('backAfterCrashMs')), joinMsMedian: median(perSeed('joinMs')), backAfterJoinMsMedian: median(perSeed('backAfterJoinMs')),
    timelinePerMs: rfRuns[0]!.timelinePerMs, goodputTimelinePerMs: rfRuns[0]!.goodputTimelinePerMs,
  };
  say(`rack failure: the rack left ${rackFail.leftAfterMsPerSeed.join('/')} ms after its switch crashed; goodput back within 10% after ${rackFail.backAfterCrashMsPerSeed.join('/')} ms; `
    + `restarted, it joined in ${rackFail.joinMsPerSeed.join('/')} ms, goodput back within 10% ${rackFail.backAfterJoinMsPerSeed.join('/')} ms after`);

  const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 1000) / 1000 : 0);
  const ideal = skew['pegasus']!['0']!;
  const w50 = writes['pegasus']!['50%']!;
  const w100 = writes['pegasus']!['100%']!;
  return {
    name: 'pegasus',
    config: {
      quick, servers: SERVERS, keys: KEYS, valueBytes: 128, rkeys: 64, clients: CLIENTS, sessionsPerClient: SESSIONS, sloP99Ms: SLO_MS,
      serverCosts: DEFAULT_STORAGE_COSTS, serverCapacityPerMs: Math.round(PER_SERVER), rackRawCapacityPerMs: RAW, readRatioDefault: 0.95,
      controllerEpochMs: EPOCH_MS, reportMs: REPORT_MS, maxChurn: MAX_CHURN, readPolicy: READ_POLICY, populated: true, mode: 'sim', seedsPerPoint: m.seeds,
      seedsPerPointNote: quick ? 'in --quick, one seed for the points not behind a ratio' : 'every point',
      step: { settleMs: m.settleMs, windowMs: m.windowMs, coarseFactor: m.coarse, bisections: m.bisections },
      method: 'open-loop Poisson load ramped in coarse steps, then bisected; a step passes when the p99 of the requests that arrived in its window '
        + '(unanswered ones counting as too slow) meets the SLO in the whole window and in its second half; each figure is the median over seeds (ops per ms of virtual time)',
      wallMs: Math.round(performance.now() - t0),
    },
    results: {
      skew, skewSpreadMinMax: skewSpread, idealUniform: ideal, writes, valueSize, rkeys, dynamic: dyn, rackFailure: rackFail, hashBalance: hashBalance(skews),
      ...extra, cappedPoints: capped,
    },
    ratios: {
      pegasusVsUniformAtZipf099: ratio(skew['pegasus']!['0.99']!, ideal),
      pegasusVsHashAtZipf12: ratio(skew['pegasus']!['1.2']!, skew['kv-hash']!['1.2']!),
      pegasusVsUniformAt50pctWrites: ratio(w50.zipf099, w50.uniform),
      pegasusVsUniformAt100pctWrites: ratio(w100.zipf099, w100.uniform),
      pegasusVsNetcacheAt50pctWrites: ratio(w50.zipf099, writes['netcache']!['50%']!.zipf099),
      pegasusVsNetcacheAt4KB: ratio(valueSize['pegasus']!['4096B']!, valueSize['netcache']!['4096B']!),
      netcacheVsHashAt4KB: ratio(valueSize['netcache']!['4096B']!, valueSize['kv-hash']!['4096B']!),
      pegasusDynamicRecoveryMs: worstRecovery,
    },
  };
}
