// `switchboard figures [--quick] [--out DIR] [--from DIR] [--only nopaxos|pegasus] [--report FILE]`:
// every figure of the NOPaxos and Pegasus evaluations as SVG and PNG, the JSON behind each, and
// a Markdown report setting each beside the paper's claim (bench/figures/).
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { BENCHES, FiguresInputError, runFigures, type BenchName } from '../../bench/figures/index.ts';
import { UsageError } from '../main.ts';

export const DEFAULT_OUT = 'figures-out';

export interface FiguresFlags {
  quick?: boolean;
  out?: string;
  from?: string;
  only?: string;
  report?: string;
}

/** A path that must be a directory if it exists (it is created otherwise). */
function checkDir(flag: string, path: string, mustExist: boolean): void {
  if (!existsSync(path)) {
    if (mustExist) throw new UsageError(`${flag} ${path}: no such directory`);
    return;
  }
  if (!statSync(path).isDirectory()) throw new UsageError(`${flag} ${path} is a file, not a directory`);
}

export function checkFlags(flags: FiguresFlags): { out: string; only?: BenchName } {
  if (flags.only !== undefined && !(BENCHES as readonly string[]).includes(flags.only)) {
    throw new UsageError(`--only '${flags.only}': choose one of ${BENCHES.join(', ')}`);
  }
  if (flags.from !== undefined) checkDir('--from', flags.from, true);
  if (flags.from !== undefined && flags.quick) throw new UsageError('--quick runs the benchmarks; --from re-plots saved results without running them: give one');
  // Re-plotting writes beside the saved results unless told otherwise.
  const out = flags.out ?? flags.from ?? DEFAULT_OUT;
  checkDir('--out', out, false);
  if (flags.report !== undefined && existsSync(flags.report) && statSync(flags.report).isDirectory()) {
    throw new UsageError(`--report ${flags.report} is a directory, not a file`);
  }
  return { out, ...(flags.only ? { only: flags.only as BenchName } : {}) };
}

export function registerFigures(program: Command): void {
  program.command('figures')
    .description('plot every figure of the NOPaxos and Pegasus evaluations (SVG, PNG, JSON) with a report against the papers\' claims')
    .option('--quick', 'the benchmarks\' --quick modes: fewer points, shorter windows, fewer seeds')
    .option('--out <dir>', `output directory (default ${DEFAULT_OUT}/, or the --from directory)`)
    .option('--from <dir>', 're-plot the results an earlier run saved in <dir>, without running the benchmarks')
    .option('--only <bench>', `one benchmark's figures: ${BENCHES.join(' or ')}`)
    .option('--report <file>', 'where to write the Markdown report (default <out>/report.md)')
    .action(async (flags: FiguresFlags) => {
      const { out, only } = checkFlags(flags);
      const command = ['switchboard figures', flags.quick ? '--quick' : '', flags.out ? `--out ${flags.out}` : '', flags.from ? `--from ${flags.from}` : '',
        only ? `--only ${only}` : '', flags.report ? `--report ${flags.report}` : ''].filter(Boolean).join(' ');
      try {
        const s = await runFigures({
          quick: Boolean(flags.quick), out, command,
          ...(only ? { only } : {}), ...(flags.from ? { from: flags.from } : {}), ...(flags.report ? { report: flags.report } : {}),
        });
        const lines = s.claims.map((c) => `  ${c.figure.padEnd(28)} ${c.verdict}`);
        process.stdout.write(`${s.files.length} files in ${out}; report ${s.report}\n${lines.join('\n')}\n`);
      } catch (err) {
        if (err instanceof FiguresInputError) throw new UsageError(err.message);
        throw err;
      }
    });
}
