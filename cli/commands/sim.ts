// `switchboard sim <scenario>`: one deterministic simulation.
import { InvalidArgumentError, type Command } from 'commander';
import { closeSync, openSync, writeSync } from 'node:fs';
import { traceLine, type TraceSink } from '../../actors/index.ts';
import { UsageError } from '../main.ts';
import { MAX_SEED, parseFaults, parseInteger } from '../options.ts';
import { SCENARIO_ARGUMENT, resolveScenario } from '../scenario-file.ts';
import { scenarios, type PlanEvent, type ScenarioRun, type SimReport } from '../scenarios.ts';
import { failed, replayCommand, shrink, SWITCHABLE, type ShrinkResult } from '../shrink.ts';

export function registerSim(program: Command): void {
  program.command('sim')
    .description('run one deterministic simulation of a scenario')
    .argument('<scenario>', SCENARIO_ARGUMENT)
    .option('--seed <n>', 'the seed; the same seed gives the same trace hash', parseInteger(0, MAX_SEED), 1)
    .option('--ops <n>', 'client operations to run', parseInteger(1, 10_000_000))
    .option('--faults <list>', 'network faults, e.g. drop=0.05,dup=0.01,jitter=0.2,latency=0.05', parseFaults, parseFaults(''))
    .option('--no-plan', 'without the seed\'s random fault plan (scenarios that draw one): only the --faults given')
    .option('--trace-out <file>', 'write every message the actors handle (and each crash, restart, cut and heal) here, one JSON line each: {t, from, to, msg} or {note}')
    .option('--events <list>', 'only these of the seed\'s plan events, by index (a crash goes with its restart), or none', parseEvents)
    .option('--shrink', 'if the run fails, find a smaller run that still fails (fewer plan events, network faults off) and print its replay command')
    .option('--json', 'print one JSON object')
    .action(async (name: string, opts) => {
      const scenario = await resolveScenario(name);
      if (opts.shrink && opts.traceOut) throw new UsageError('--shrink runs the scenario many times: trace the smaller run it finds, with its replay command and --trace-out');
      const base: ScenarioRun = { seed: opts.seed, ops: opts.ops, faults: opts.faults, plan: opts.plan !== false };
      const plan = opts.plan === false ? undefined : scenario.planEvents?.(base);
      const events = opts.events as number[] | undefined;
      if (events !== undefined) checkEvents(name, base, plan, events);
      const run: ScenarioRun = { ...base, ...(events ? { events } : {}) };
      const trace = opts.traceOut ? new TraceFile(opts.traceOut as string) : undefined;
      let report: SimReport;
      try {
        report = scenario.run({ ...run, ...(trace ? { trace: trace.sink } : {}) });
      } finally {
        trace?.close();
      }
      if (trace) process.stderr.write(`trace: ${trace.messages} messages and ${trace.notes} notes written to ${opts.traceOut}\n`);
      if (plan) {
        const kept = new Set(events ?? plan.map((_, i) => i));
        report.details.planEvents = plan.map((e, i) => `${i}: ${e.what}${kept.has(i) ? '' : ' (left out)'}`);
      }
      const shrunk = opts.shrink && failed(report) ? shrink(name, scenario, run, report) : undefined;
      if (opts.json) process.stdout.write(`${JSON.stringify(shrunk ? { ...report, shrunk: shrunkJson(shrunk) } : report)}\n`);
      else process.stdout.write(formatReport(report) + (shrunk ? formatShrunk(shrunk, plan ?? []) : ''));
      if (failed(report)) {
        process.stderr.write(`replay: ${replayCommand(name, run)}\n`);
        if (shrunk) process.stderr.write(`smaller: ${shrunk.replay}\n`);
        process.exitCode = 1;
      } else if (opts.shrink) {
        process.stderr.write('the run passed: nothing to shrink\n');
      }
    });
}

/** --events must pick from the seed's plan, and from what it has. */
function checkEvents(name: string, run: ScenarioRun, plan: readonly PlanEvent[] | undefined, events: readonly number[]): void {
  if (run.plan === false) throw new UsageError('--events picks from the seed\'s plan: it does not go with --no-plan');
  if (!plan) throw new UsageError(`${name} does not list its plan's events (planEvents); --events is for ${Object.keys(scenarios).filter((k) => scenarios[k]!.planEvents).join(', ')} and scenarios that do`);
  const bad = events.filter((i) => i >= plan.length);
  if (bad.length > 0) throw new UsageError(`no plan event ${bad.join(', ')}: seed ${run.seed}'s plan has ${plan.length} (0..${plan.length - 1})`);
}

/** `--events 0,3,5` or `--events none`. */
function parseEvents(value: string): number[] {
  if (value === 'none') return [];
  if (!/^\d+(,\d+)*$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a list of event indices like 0,3,5 (or none).`);
  return [...new Set(value.split(',').map(Number))].sort((a, b) => a - b);
}

function shrunkJson(s: ShrinkResult): Record<string, unknown> {
  return { events: s.events, of: s.of, faults: s.faults, runs: s.runs, violations: s.report.violations, traceHash: s.report.traceHash, replay: s.replay };
}

export function formatShrunk(s: ShrinkResult, plan: readonly PlanEvent[]): string {
  const off = SWITCHABLE.filter((k) => s.faults[k] === 0);
  return [
    `shrunk in ${s.runs} runs: it still fails with ${s.events.length} of ${s.of} plan events${off.length ? `, without ${off.join(', ')}` : ''}`,
    ...s.events.map((i) => `  ${i}: ${plan[i]!.what}`),
    `  ${s.report.violations.join('; ') || 'history is not linearizable'}`,
    `  replay: ${s.replay}`,
    '',
  ].join('\n');
}

export function formatReport(r: SimReport): string {
  const verdict = r.violations.length === 0 ? 'ok' : `FAILED: ${r.violations.join('; ')}`;
  const d = r.details;
  return [
    `${r.scenario} seed=${r.seed}: ${r.completed}/${r.ops} completed, ${verdict}`,
    `  virtual time ${r.virtualMs} ms, wall time ${r.wallMs} ms, trace ${r.traceHash}`,
    ...Object.entries(d).filter(([k]) => k !== 'links').map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    '',
  ].join('\n');
}

/** `--trace-out`: the run's trace as JSON lines, written in batches as it goes. */
class TraceFile {
  messages = 0;
  notes = 0;
  private readonly fd: number;
  private lines: string[] = [];

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw new UsageError(`cannot write the trace to ${path}: ${(err as Error).message}`);
    }
  }

  readonly sink: TraceSink = (e) => {
    if (e.kind === 'msg') this.messages++;
    else this.notes++;
    this.lines.push(traceLine(e));
    if (this.lines.length >= 4096) this.flush();
  };

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    writeSync(this.fd, `${this.lines.join('\n')}\n`);
    this.lines = [];
  }
}
