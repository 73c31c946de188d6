// `switchboard lincheck`: checks recorded histories for linearizability (apps/linearizability).
// Exit code: 2 if a file could not be read or parsed, else 1 if any history is not linearizable,
// else 2 if any check gave up (time limit), else 0.
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { UsageError } from '../main.ts';
import { checkHistory, decodeHistory, type CheckResult } from '../../apps/linearizability/checker.ts';
import { parseHistory, type History, type HistoryFormat } from '../../apps/linearizability/history.ts';
import { renderHtml, type HtmlSection } from '../../apps/linearizability/html.ts';
import { modelByName, modelNames, type AnyModel } from '../../apps/linearizability/models.ts';

const formats: readonly HistoryFormat[] = ['json', 'jepsen', 'edn'];

export interface LincheckFileReport {
  file: string;
  verdict: CheckResult['verdict'] | 'error';
  timeMs: number;
  operations?: number;
  partitions?: { total: number; checked: number };
  /** Why the verdict is unknown ('timeout'), or the error message. */
  reason?: string;
  violation?: string;
  /** The violation in detail: partition, prefix, pending operations (--json). */
  details?: CheckResult['violation'];
}

export interface LincheckOptions {
  model: string;
  format?: string;
  timeoutMs?: number;
  html?: string;
}

/** Checks files and reports each; the exit code follows from the reports (see exitCodeFor). */
export async function lincheckFiles(files: string[], opts: LincheckOptions): Promise<LincheckFileReport[]> {
  const model = modelByName(opts.model);
  if (model === undefined) throw new UsageError(`unknown model '${opts.model}'; choose one of: ${modelNames.join(', ')}`);
  const format = (opts.format ?? 'json') as HistoryFormat;
  if (!formats.includes(format)) throw new UsageError(`unknown format '${opts.format}'; choose one of: ${formats.join(', ')}`);
  if (files.length === 0) throw new UsageError('no history file given');
  const reports: LincheckFileReport[] = [];
  const sections: HtmlSection[] = [];
  for (const file of files) {
    const started = performance.now();
    let history: History<unknown, unknown>;
    try {
      const text = await readFile(file, 'utf8');
      history = parseHistory(text, format);
      // The Jepsen log parser skips lines that are not events: a file in another format reads
      // as an empty (so linearizable) history. No event in a log with something in it is a
      // mistake to report, not a verdict.
      if (format === 'jepsen' && history.operations.length === 0 && text.trim() !== '') {
        throw new Error(`no operations found as --format ${format}; is the file in another format (${formats.filter((f) => f !== format).join(', ')})?`);
      }
      if (history.model !== undefined && format === 'json' && history.model !== model.name) {
        throw new Error(`the history is for model '${history.model}', not '${model.name}'`);
      }
      history = decodeHistory(model, history);
    } catch (err) {
      reports.push({ file, verdict: 'error', timeMs: performance.now() - started, reason: (err as Error).message });
      continue;
    }
    const result = checkHistory(model as AnyModel, history, {
      now: () => performance.now(),
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
    const report: LincheckFileReport = {
      file,
      verdict: result.verdict,
      timeMs: performance.now() - started,
      operations: result.operations,
      partitions: result.partitions,
    };
    if (result.reason !== undefined) report.reason = result.reason;
    if (result.violation !== undefined) {
      report.violation = result.violation.text;
      report.details = result.violation;
    }
    reports.push(report);
    sections.push({ title: basename(file), model, history, result });
  }
  if (opts.html !== undefined) await writeFile(opts.html, renderHtml(sections));
  return reports;
}

export function exitCodeFor(reports: LincheckFileReport[]): number {
  if (reports.some((r) => r.verdict === 'error')) return 2;
  if (reports.some((r) => r.verdict === 'not-linearizable')) return 1;
  if (reports.some((r) => r.verdict === 'unknown')) return 2;
  return 0;
}

export function formatReports(reports: LincheckFileReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const time = `${r.timeMs.toFixed(1)} ms`;
    if (r.verdict === 'error') {
      lines.push(`${r.file}: error: ${r.reason}`);
      continue;
    }
    const what = r.verdict === 'not-linearizable' ? 'NOT linearizable' : r.verdict === 'unknown' ? `unknown (${r.reason ?? 'gave up'})` : 'linearizable';
    const parts = r.partitions !== undefined && r.partitions.total > 1 ? `, ${r.partitions.total} keys` : '';
    lines.push(`${r.file}: ${what} (${time}, ${r.operations} operations${parts})`);
    if (r.violation !== undefined) lines.push(...r.violation.split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n') + '\n';
}

function parseTimeout(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`--timeout-ms: '${value}' is not a positive integer`);
  return Number(value);
}

export function registerLincheck(program: Command): void {
  program.command('lincheck')
    .description('check recorded histories for linearizability (exit 0 linearizable, 1 not, 2 unknown or error)')
    .argument('<files...>', 'history files')
    .requiredOption('--model <name>', `the sequential model: ${modelNames.join(', ')}`)
    .option('--format <format>', `the file format: ${formats.join(', ')}`, 'json')
    .option('--timeout-ms <n>', 'give up on a file after this long (verdict unknown)')
    .option('--json', 'print a JSON array with one report per file')
    .option('--html <file>', 'write an HTML view of the histories (violations marked) to this file')
    .action(async (files: string[], opts: { model: string; format: string; timeoutMs?: string; json?: boolean; html?: string }) => {
      const options: LincheckOptions = { model: opts.model, format: opts.format };
      if (opts.timeoutMs !== undefined) options.timeoutMs = parseTimeout(opts.timeoutMs);
      if (opts.html !== undefined) options.html = opts.html;
      const reports = await lincheckFiles(files, options);
      if (opts.json === true) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
      else process.stdout.write(formatReports(reports));
      process.exitCode = exitCodeFor(reports);
    });
}
