// `switchboard sim <scenario>`: one deterministic simulation.
import type { Command } from 'commander';
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
    .option('--json', 'print one JSON object')
    .action((name: string, opts) => {
      const scenario = scenarios[name];
      if (!scenario) throw new UsageError(`unknown scenario '${name}'; choose one of: ${Object.keys(scenarios).join(', ')}`);
      const report = scenario.run({ seed: opts.seed, ops: opts.ops, faults: opts.faults, plan: opts.plan !== false });
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
