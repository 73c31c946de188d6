// `switchboard sim <scenario>`: one deterministic simulation.
import type { Command } from 'commander';
import { closeSync, openSync, writeSync } from 'node:fs';
import { traceLine, type TraceSink } from '../../actors/index.ts';
import { UsageError } from '../main.ts';
import { formatFaults, MAX_SEED, parseFaults, parseInteger } from '../options.ts';
import { scenarios, type SimReport } from '../scenarios.ts';

export function registerSim(program: Command): void {
  program.command('sim')
    .description('run one deterministic simulation of a scenario')
    .argument('<scenario>', `one of: ${Object.keys(scenarios).join(', ')}`)
    .option('--seed <n>', 'the seed; the same seed gives the same trace hash', parseInteger(0, MAX_SEED), 1)
    .option('--ops <n>', 'client operations to run', parseInteger(1, 10_000_000))
    .option('--faults <list>', 'network faults, e.g. drop=0.05,dup=0.01,jitter=0.2,latency=0.05', parseFaults, parseFaults(''))
    .option('--no-plan', 'without the seed\'s random fault plan (scenarios that draw one): only the --faults given')
    .option('--trace-out <file>', 'write every message the actors handle (and each crash, restart, cut and heal) here, one JSON line each: {t, from, to, msg} or {note}')
    .option('--json', 'print one JSON object')
    .action((name: string, opts) => {
      const scenario = scenarios[name];
      if (!scenario) throw new UsageError(`unknown scenario '${name}'; choose one of: ${Object.keys(scenarios).join(', ')}`);
      const trace = opts.traceOut ? new TraceFile(opts.traceOut as string) : undefined;
      let report: SimReport;
      try {
        report = scenario.run({ seed: opts.seed, ops: opts.ops, faults: opts.faults, plan: opts.plan !== false, ...(trace ? { trace: trace.sink } : {}) });
      } finally {
        trace?.close();
      }
      if (trace) process.stderr.write(`trace: ${trace.messages} messages and ${trace.notes} notes written to ${opts.traceOut}\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(formatReport(report));
      if (report.violations.length > 0) {
        process.stderr.write(`replay: switchboard sim ${name} --seed ${report.seed}${opts.ops ? ` --ops ${opts.ops}` : ''}${formatFaults(opts.faults) ? ` --faults ${formatFaults(opts.faults)}` : ''}${opts.plan === false ? ' --no-plan' : ''}\n`);
        process.exitCode = 1;
      }
    });
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
