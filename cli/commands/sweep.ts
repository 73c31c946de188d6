// `switchboard sweep <scenario> --seeds A..B`: many simulations, each with a fault plan drawn
// from its seed, in the manner of FoundationDB's simulator and TigerBeetle's VOPR. Every failure
// is reported with the seed and the exact command that replays it; a sample of seeds is run
// twice to catch non-determinism (the same seed must give the same trace hash).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { seededRandom } from '../../actors/index.ts';
import { UsageError } from '../main.ts';
import { formatFaults, MAX_SEED, parseInteger, type FaultSpec } from '../options.ts';
import { scenarios, type Scenario } from '../scenarios.ts';

export interface SweepFailure {
  seed: number;
  reason: string;
  replay: string;
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

export function runSweep(name: string, scenario: Scenario, from: number, to: number, opts: {
  ops?: number; recheckEvery?: number; onSeed?: (seed: number) => void;
}): SweepReport {
  const t0 = performance.now();
  const failures: SweepFailure[] = [];
  let passed = 0;
  const recheckEvery = opts.recheckEvery ?? 10;
  for (let seed = from; seed <= to; seed++) {
    const faults = scenario.randomFaults ? scenario.randomFaults(seed) : drawNetworkFaults(seed);
    const ops = opts.ops;
    const replay = `switchboard sim ${name} --seed ${seed}${ops ? ` --ops ${ops}` : ''}${formatFaults(faults) ? ` --faults ${formatFaults(faults)}` : ''}`;
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
    if (reason) failures.push({ seed, reason, replay });
    else passed++;
    opts.onSeed?.(seed);
  }
  return { scenario: name, seeds: `${from}..${to}`, passed, failures, wallMs: Math.round(performance.now() - t0) };
}

export function registerSweep(program: Command): void {
  program.command('sweep')
    .description('run many seeds of a scenario, each with a random fault plan')
    .argument('<scenario>', `one of: ${Object.keys(scenarios).join(', ')}`)
    .requiredOption('--seeds <A..B>', 'the seeds to run, inclusive', parseSeedRange)
    .option('--ops <n>', 'client operations per run', parseInteger(1, 10_000_000))
    .option('--recheck-every <n>', 'run every nth seed twice and compare trace hashes (0: never)', parseInteger(0, 1_000_000), 10)
    .option('--json', 'print one JSON object')
    .action((name: string, opts) => {
      const scenario = scenarios[name];
      if (!scenario) throw new UsageError(`unknown scenario '${name}'; choose one of: ${Object.keys(scenarios).join(', ')}`);
      const [from, to] = opts.seeds as [number, number];
      const bar = !opts.json && process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, format: `${name} {bar} {value}/{total} seeds | {eta}s left` }, cliProgress.Presets.shades_classic)
        : undefined;
      bar?.start(to - from + 1, 0);
      const report = runSweep(name, scenario, from, to, { ops: opts.ops, recheckEvery: opts.recheckEvery, onSeed: () => bar?.increment() });
      bar?.stop();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        process.stdout.write(`${name}: ${report.passed}/${to - from + 1} seeds passed in ${report.wallMs} ms\n`);
        for (const f of report.failures) process.stdout.write(`  seed ${f.seed}: ${f.reason}\n    replay: ${f.replay}\n`);
      }
      if (report.failures.length > 0) process.exitCode = 1;
    });
}
