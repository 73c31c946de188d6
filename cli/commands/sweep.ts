// `switchboard sweep <scenario> --seeds A..B`: many simulations, each with a fault plan drawn
// from its seed, in the manner of FoundationDB's simulator and TigerBeetle's VOPR. Every failure
// is reported with the seed and the exact command that replays it; a sample of seeds is run
// twice to catch non-determinism (the same seed must give the same trace hash).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { availableParallelism, freemem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../../actors/index.ts';
import { MAX_SEED, parseInteger, type FaultSpec } from '../options.ts';
import { SCENARIO_ARGUMENT, resolveScenario } from '../scenario-file.ts';
import type { Scenario } from '../scenarios.ts';
import { replayCommand, shrink } from '../shrink.ts';

export interface SweepFailure {
  seed: number;
  reason: string;
  replay: string;
  /** With --shrink: the replay command of a smaller run that fails (cli/shrink.ts). */
  smaller?: string;
}

/**
 * Memory a sweep thread needs, about (measured: a pegasus sweep's process holds 300 MB with one
 * thread, 470 MB with two).
 */
const THREAD_BYTES = 256 * 2 ** 20;

/** One thread per core, as many as the free memory holds. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(freemem() / THREAD_BYTES)));
}

/** Failures a sweep with --shrink shrinks, at most (each takes tens of runs). */
export const SHRINK_AT_MOST = 10;

/** Shrink the first SHRINK_AT_MOST failures of a sweep, in this thread: each gets `smaller`. */
export function shrinkFailures(name: string, scenario: Scenario, failures: SweepFailure[], ops: number | undefined): void {
  for (const f of failures.slice(0, SHRINK_AT_MOST)) {
    try {
      const r = shrink(name, scenario, { seed: f.seed, ops, faults: seedFaults(scenario, f.seed) });
      if (r) f.smaller = r.replay;
    } catch {
      // A run that throws is a failure the sweep already reports; it has no smaller form here.
    }
  }
}

export interface SweepReport {
  scenario: string;
  seeds: string;
  passed: number;
  failures: SweepFailure[];
  wallMs: number;
}

/** Seeds one sweep runs, at most (10 million: hours even for the fastest scenario). */
export const MAX_SWEEP_SEEDS = 10_000_000;

export function parseSeedRange(value: string): [number, number] {
  const m = /^(\d+)\.\.(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`'${value}' is not a range A..B.`);
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (a > b) throw new InvalidArgumentError(`${a} > ${b}.`);
  if (b > MAX_SEED) throw new InvalidArgumentError(`seeds are 0..${MAX_SEED} (what sim --seed takes, so that a failure's replay command works).`);
  if (b - a + 1 > MAX_SWEEP_SEEDS) throw new InvalidArgumentError(`${b - a + 1} seeds; one sweep runs at most ${MAX_SWEEP_SEEDS} (split the range).`);
  return [a, b];
}

/** The network faults a sweep runs a seed with: the scenario's own draw, or drawNetworkFaults. */
function seedFaults(scenario: Scenario, seed: number): FaultSpec {
  return scenario.randomFaults ? scenario.randomFaults(seed) : drawNetworkFaults(seed);
}

/** The network faults of one seed's plan, when a scenario draws none of its own. */
export function drawNetworkFaults(seed: number): FaultSpec {
  const r = seededRandom(seed, '$fault-plan');
  const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
  return {
    dropRate: pick([0, 0, 0.001, 0.01, 0.05, 0.1]),
    duplicateRate: pick([0, 0, 0.01, 0.05]),
    jitterMs: Math.round(r.next() * 500) / 1000,
  };
}

export interface SweepOptions {
  readonly ops?: number;
  /** Run every nth seed twice and compare the trace hashes (0: never; default 10). */
  readonly recheckEvery?: number;
  readonly onSeed?: (seed: number) => void;
}

/** One seed of a sweep: its failure, or undefined if it passed. `from` is the sweep's first seed. */
export function sweepSeed(name: string, scenario: Scenario, seed: number, from: number, opts: SweepOptions): SweepFailure | undefined {
  const recheckEvery = opts.recheckEvery ?? 10;
  const faults = seedFaults(scenario, seed);
  const ops = opts.ops;
  const replay = replayCommand(name, { seed, ops, faults });
  let reason: string | undefined;
  try {
    const first = scenario.run({ seed, ops, faults });
    if (first.violations.length > 0) reason = first.violations.join('; ');
    else if (first.linearizable === false) reason = 'history is not linearizable';
    else if (recheckEvery > 0 && (seed - from) % recheckEvery === 0) {
      const again = scenario.run({ seed, ops, faults });
      if (again.traceHash !== first.traceHash) reason = `non-deterministic: trace ${first.traceHash} then ${again.traceHash}`;
    }
  } catch (err) {
    reason = `threw: ${(err as Error).message}`;
  }
  return reason ? { seed, reason, replay } : undefined;
}

/** The seeds from..to in this thread, one after another. */
export function runSweep(name: string, scenario: Scenario, from: number, to: number, opts: SweepOptions): SweepReport {
  const t0 = performance.now();
  const failures: SweepFailure[] = [];
  let passed = 0;
  for (let seed = from; seed <= to; seed++) {
    const failure = sweepSeed(name, scenario, seed, from, opts);
    if (failure) failures.push(failure);
    else passed++;
    opts.onSeed?.(seed);
  }
  return { scenario: name, seeds: `${from}..${to}`, passed, failures, wallMs: Math.round(performance.now() - t0) };
}

/**
 * The seeds from..to on this thread and `jobs - 1` worker threads, each seed run exactly as
 * runSweep runs it (every run is its own simulation, so the report is the same whatever the
 * number of jobs). Seeds go out in blocks to whoever is free, so a slow block holds nobody back.
 * This thread takes blocks too, from the start: a worker needs a second or more to load the
 * sources, so a short sweep is done here before any worker is ready (and the workers are let go).
 * `registry`: a module whose `scenarios` the workers look `name` up in (by default they resolve
 * `name` as the command does: a built-in scenario, or the path of a scenario module);
 * `workersOnly`: this thread runs no seed, and `jobs` workers are started (for tests).
 */
export async function runSweepParallel(name: string, scenario: Scenario, from: number, to: number, opts: SweepOptions & {
  readonly jobs: number; readonly registry?: string; readonly workersOnly?: boolean;
}): Promise<SweepReport> {
  const t0 = performance.now();
  const failures: SweepFailure[] = [];
  let passed = 0;
  const outcome = (seed: number, failure: SweepFailure | undefined): void => {
    if (failure) failures.push(failure);
    else passed++;
    opts.onSeed?.(seed);
  };
  const count = to - from + 1;
  const jobs = Math.max(1, Math.min(opts.jobs, count));
  // Small enough blocks that the last ones spread over every thread, large enough to be few messages.
  const blockSize = Math.max(1, Math.min(100, Math.ceil(count / (jobs * 16))));
  let next = from;
  const take = (): [number, number] | undefined => {
    if (next > to) return undefined;
    const b: [number, number] = [next, Math.min(to, next + blockSize - 1)];
    next = b[1] + 1;
    return b;
  };
  const data: SweepWorkerData = {
    name, from, ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
    ...(opts.ops !== undefined ? { ops: opts.ops } : {}), recheckEvery: opts.recheckEvery ?? 10,
  };
  const workers: { readonly w: Worker; busy: [number, number] | undefined }[] = [];
  let failed: Error | undefined;
  const workerCount = opts.workersOnly ? jobs : jobs - 1;
  const workersDone = new Promise<void>((resolve) => {
    let running = workerCount;
    const exited = (): void => { if (--running === 0) resolve(); };
    if (running === 0) resolve();
    for (let j = 0; j < workerCount; j++) {
      const w = new Worker(new URL('../sweep-worker.mjs', import.meta.url), { workerData: data });
      const me = { w, busy: undefined as [number, number] | undefined };
      workers.push(me);
      const give = (): void => {
        me.busy = failed === undefined ? take() : undefined;
        w.postMessage(me.busy ?? null);
      };
      const where = (): string => (me.busy ? ` running seeds ${me.busy[0]}..${me.busy[1]} (run them with --jobs 1 to see it in this thread)` : '');
      w.on('message', (m: SweepWorkerMessage) => {
        if (m.kind === 'seed') outcome(m.seed, m.failure);
        else give();
      });
      w.on('error', (err) => { failed ??= new Error(`sweep worker ${j} failed${where()}: ${err.message}`); });
      w.on('exit', (code) => {
        if (code !== 0 && me.busy) failed ??= new Error(`sweep worker ${j} exited with code ${code}${where()}`);
        exited();
      });
    }
  });
  // This thread's share, a block at a time, letting the workers' messages in between.
  for (let b = opts.workersOnly ? undefined : take(); b !== undefined && failed === undefined; b = take()) {
    for (let seed = b[0]; seed <= b[1]; seed++) outcome(seed, sweepSeed(name, scenario, seed, from, opts));
    await new Promise((r) => setImmediate(r));
  }
  // Workers still loading get no block now: let them go; wait for those running one.
  if (!opts.workersOnly) for (const x of workers) if (x.busy === undefined) void x.w.terminate();
  await workersDone;
  if (failed) throw failed;
  failures.sort((a, b) => a.seed - b.seed);
  return { scenario: name, seeds: `${from}..${to}`, passed, failures, wallMs: Math.round(performance.now() - t0) };
}

/** What a sweep worker is started with (cli/sweep-worker.ts). */
export interface SweepWorkerData {
  readonly name: string;
  readonly from: number;
  /** A module whose `scenarios` hold `name` (tests); without it, `name` is resolved as the command resolves it. */
  readonly registry?: string;
  readonly ops?: number;
  readonly recheckEvery: number;
}

/** What a sweep worker sends: each seed's outcome, and when it is ready for a (next) block. */
export type SweepWorkerMessage =
  | { readonly kind: 'seed'; readonly seed: number; readonly failure?: SweepFailure }
  | { readonly kind: 'ready' };

export function registerSweep(program: Command): void {
  program.command('sweep')
    .description('run many seeds of a scenario, each with a random fault plan')
    .argument('<scenario>', SCENARIO_ARGUMENT)
    .requiredOption('--seeds <A..B>', 'the seeds to run, inclusive', parseSeedRange)
    .option('--ops <n>', 'client operations per run', parseInteger(1, 10_000_000))
    .option('--recheck-every <n>', 'run every nth seed twice and compare trace hashes (0: never)', parseInteger(0, 1_000_000), 10)
    .option('--jobs <n>', 'threads to run seeds on: this one and N-1 workers (default: one per core, as many as the free memory holds at 256 MB each; 1: this thread only)', parseInteger(1, 256))
    .option('--shrink', `find a smaller failing run for each of the first ${SHRINK_AT_MOST} failures (sim --shrink)`)
    .option('--json', 'print one JSON object')
    .action(async (name: string, opts) => {
      const scenario = await resolveScenario(name);
      const [from, to] = opts.seeds as [number, number];
      const jobs: number = Math.min(opts.jobs ?? defaultJobs(), to - from + 1);
      const bar = !opts.json && process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, format: `${name} {bar} {value}/{total} seeds | {eta}s left` }, cliProgress.Presets.shades_classic)
        : undefined;
      bar?.start(to - from + 1, 0);
      const sweepOpts = { ops: opts.ops, recheckEvery: opts.recheckEvery, onSeed: () => bar?.increment() };
      const report = jobs > 1
        ? await runSweepParallel(name, scenario, from, to, { ...sweepOpts, jobs })
        : runSweep(name, scenario, from, to, sweepOpts);
      bar?.stop();
      if (opts.shrink) shrinkFailures(name, scenario, report.failures, opts.ops);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        process.stdout.write(`${name}: ${report.passed}/${to - from + 1} seeds passed in ${report.wallMs} ms${jobs > 1 ? ` (${jobs} jobs)` : ''}\n`);
        for (const f of report.failures) {
          process.stdout.write(`  seed ${f.seed}: ${f.reason}\n    replay: ${f.replay}\n${f.smaller ? `    smaller: ${f.smaller}\n` : ''}`);
        }
        if (report.failures.length > 0 && !opts.shrink) process.stdout.write('  (a replay command with --shrink finds a smaller run that fails: fewer plan events, network faults off)\n');
      }
      if (report.failures.length > 0) process.exitCode = 1;
    });
}
