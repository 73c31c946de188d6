// The Markdown report: where and how the figures were measured, then per figure the plot, the
// paper's claim, the checks against this run's data and the verdict.
import type { Claim, Check } from './claims.ts';
import type { Figure } from './specs.ts';

export interface RunMeta {
  readonly date: string;
  readonly commit: string;
  /** Tracked files differed from the commit when the benchmarks ran. */
  readonly dirty: boolean;
  readonly machine: { readonly cores: number; readonly cpu: string; readonly node: string; readonly os: string; readonly loadAverage1m: number };
  readonly quick: boolean;
  /** Wall time of each benchmark (s). */
  readonly wallSeconds: Record<string, number>;
  readonly command: string;
  /**
   * Benchmarks whose saved results in the same directory come from an earlier run (a later
   * `figures --only` replaced the others'): where and when each was measured.
   */
  readonly earlier?: Readonly<Record<string, EarlierRun>>;
}

export interface EarlierRun {
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly command: string;
  readonly wallSeconds: number;
  /** A --quick run (absent in meta.json files written before it was recorded: read as full). */
  readonly quick?: boolean;
}

export interface ReportInput {
  readonly meta: RunMeta;
  /** The command that re-plotted saved results (figures --from), if this report is a re-plot. */
  readonly replottedBy?: string;
  readonly entries: readonly { readonly figure: Figure; readonly claim: Claim }[];
  /** Link from the report to a figure's file, e.g. 'results/nopaxos-drop-rate'. */
  readonly linkTo: (name: string, ext: 'png' | 'svg' | 'json') => string;
}

const VERDICT_MARK: Record<Claim['verdict'], string> = {
  holds: '✅ holds', 'holds where measured': '✅ holds where measured (some checks have no data here)', 'partly holds': '⚠️ partly holds', 'does not hold': '❌ does not hold', 'not measured': '— not measured',
};

const holdsCell = (c: Check): string => (c.holds === null ? '—' : c.holds ? 'yes' : '**no**');
const cell = (s: string): string => s.replace(/\|/g, '\\|');

function header(m: RunMeta, replottedBy: string | undefined): string[] {
  const earlier = Object.entries(m.earlier ?? {});
  const runs = earlier.length === 0 ? 'both benchmarks' : 'this run\'s benchmarks';
  const mode = m.quick
    ? `**--quick run** (${runs}): fewer points, shorter measurement windows and fewer seeds than the full benchmarks, so figures differ from a full run (the drop and dynamic figures most).`
    : `Full run of ${runs}.`;
  return [
    '# Switchboard: the NOPaxos and Pegasus figures, measured here',
    '',
    `Measured by \`${m.command}\` on ${m.date}${replottedBy ? `; plotted from its saved results by \`${replottedBy}\`` : ''}.`,
    '',
    `- commit \`${m.commit}\`${m.dirty ? ' (the working tree had uncommitted changes when the benchmarks ran)' : ''}`,
    `- machine: ${m.machine.cores} cores, ${m.machine.cpu}; ${m.machine.os}; Node ${m.machine.node}; 1-minute load average ${m.machine.loadAverage1m} at the start`,
    `- benchmarks: ${Object.entries(m.wallSeconds).map(([b, s]) => `\`bench ${b}\` ${s} s wall`).join(', ')}`,
    ...earlier.map(([b, e]) =>
      `- \`bench ${b}\`: from an earlier ${e.quick ? '**--quick** ' : 'full '}run, \`${e.command}\` on ${e.date}, commit \`${e.commit}\`${e.dirty ? ' (uncommitted changes)' : ''}, ${e.wallSeconds} s wall`),
    `- ${mode}`,
    '- Every figure is measured in virtual time in the simulator with the service-time cost models (docs/nopaxos.md, docs/pegasus.md), so it does not depend on this machine\'s speed; wall times say only how long the run took.',
    '- A claim *holds* when every check holds (*holds where measured* when some have no data here); a check states its criterion next to the paper\'s number. The paper\'s testbeds were real racks; these are models of them.',
    '',
  ];
}

function summary(input: ReportInput): string[] {
  const lines = ['| figure | paper\'s claim | here |', '|---|---|---|'];
  for (const { figure, claim } of input.entries) {
    lines.push(`| [${cell(figure.title)}](#${figure.name}) | ${cell(claim.paper)} | ${VERDICT_MARK[claim.verdict]} |`);
  }
  return [...lines, ''];
}

function section(input: ReportInput, figure: Figure, claim: Claim): string[] {
  return [
    `<a id="${figure.name}"></a>`,
    `## ${figure.title}`,
    '',
    `![${figure.title}](${input.linkTo(figure.name, 'png')})`,
    '',
    `[SVG](${input.linkTo(figure.name, 'svg')}) · [data](${input.linkTo(figure.name, 'json')}) (from \`bench ${figure.bench}\`: \`${figure.source}\`)`,
    '',
    `**Paper:** ${claim.paper}`,
    '',
    '| check | measured here | criterion | holds |',
    '|---|---|---|---|',
    ...claim.checks.map((c) => `| ${cell(c.what)} | ${cell(c.measured)} | ${cell(c.criterion)} | ${holdsCell(c)} |`),
    '',
    `**Here:** ${VERDICT_MARK[claim.verdict]}.`,
    '',
  ];
}

export function buildReport(input: ReportInput): string {
  const lines = [...header(input.meta, input.replottedBy), ...summary(input)];
  for (const { figure, claim } of input.entries) lines.push(...section(input, figure, claim));
  return `${lines.join('\n')}\n`;
}
