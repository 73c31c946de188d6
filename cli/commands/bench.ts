// `switchboard bench <name>`: a benchmark printing figures and ratios measured in one run.
import type { Command } from 'commander';
import type { BenchOptions, BenchResult } from '../../bench/types.ts';
import { UsageError } from '../main.ts';

type Bench = (opts: BenchOptions) => Promise<BenchResult>;

const benches: Record<string, () => Promise<Bench>> = {
  runtime: async () => (await import('../../bench/runtime.ts')).benchRuntime,
  lincheck: async () => (await import('../../bench/lincheck.ts')).benchLincheck,
  switch: async () => (await import('../../bench/switch.ts')).benchSwitch,
  nopaxos: async () => (await import('../../bench/nopaxos.ts')).benchNopaxos,
  pegasus: async () => (await import('../../bench/pegasus.ts')).benchPegasus,
  distributed: async () => (await import('../../bench/distributed.ts')).benchDistributed,
};

export function registerBench(program: Command): void {
  program.command('bench')
    .description(`run a benchmark: ${Object.keys(benches).join(', ')}`)
    .argument('<name>', 'which benchmark')
    .option('--quick', 'a short run: fewer points, rounds and seeds (from about 30 s for runtime to about 2 min for nopaxos and pegasus on 2 cores)')
    .option('--json', 'print one JSON object {name, config, results, ratios}')
    .action(async (name: string, opts) => {
      const load = benches[name];
      if (!load) throw new UsageError(`unknown benchmark '${name}'; choose one of: ${Object.keys(benches).join(', ')}`);
      const run = await load();
      const result = await run({ quick: Boolean(opts.quick), progress: (l) => process.stderr.write(`${l}\n`) });
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(formatBench(result));
    });
}

function formatBench(r: BenchResult): string {
  const lines = [`${r.name}`, '  results:'];
  for (const [k, v] of Object.entries(r.results)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  lines.push('  ratios:');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`    ${k}: ${v}`);
  return `${lines.join('\n')}\n`;
}
