// `switchboard figures`: run `bench nopaxos` and `bench pegasus` (or read their saved results),
// plot every figure of the two papers' evaluations, and write a report that sets each beside the
// paper's claim. The benchmarks run as child processes of the CLI (`bench <name> --json`), both
// at once: each is mostly one busy core (Pegasus's own two workers take turns with NOPaxos), and a
// benchmark simulating in this process would block the progress bars.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, type, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../types.ts';
import { nopaxosClaims, pegasusClaims, type Claim } from './claims.ts';
import { asNopaxos, asPegasus } from './data.ts';
import { render } from './plot.ts';
import { progress, type Progress } from './progress.ts';
import { buildReport, type EarlierRun, type RunMeta } from './report.ts';
import { nopaxosFigures, pegasusFigures, type Figure } from './specs.ts';

export const BENCHES = ['nopaxos', 'pegasus'] as const;
export type BenchName = (typeof BENCHES)[number];

export interface FiguresOptions {
  readonly quick: boolean;
  readonly out: string;
  /** Where the Markdown report goes (default OUT/report.md); its links are relative to it. */
  readonly report?: string;
  /** Re-plot the results saved in this directory by an earlier run, without running anything. */
  readonly from?: string;
  readonly only?: BenchName;
  readonly command: string;
}

export interface FiguresSummary {
  readonly report: string;
  readonly files: readonly string[];
  readonly claims: readonly Claim[];
}

/** Bad input to the command (missing or malformed saved results): the CLI prints it as a usage error. */
export class FiguresInputError extends Error {
  override readonly name = 'FiguresInputError';
}

const BIN = fileURLToPath(new URL('../../bin/switchboard.mjs', import.meta.url));
const ROOT = dirname(dirname(BIN));
const benchFile = (dir: string, name: BenchName): string => join(dir, `${name}.bench.json`);
const META_FILE = 'meta.json';

/** Run `switchboard bench <name> --json`, its progress lines to `onLine`; its result. */
export function runBenchChild(name: BenchName, quick: boolean, onLine: (line: string) => void, signal?: AbortSignal): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'bench', name, '--json', ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}),
    });
    let out = '';
    const errTail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    createInterface({ input: child.stderr }).on('line', (line) => {
      errTail.push(line);
      if (errTail.length > 20) errTail.shift();
      onLine(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench ${name} exited with ${code}:\n${errTail.join('\n')}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as BenchResult);
      } catch (err) {
        reject(new Error(`bench ${name} printed no JSON result: ${(err as Error).message}`));
      }
    });
  });
}

function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: false };
  }
}

export function machineMeta(quick: boolean, wallSeconds: Record<string, number>, command: string): RunMeta {
  const cpu = cpus();
  return {
    date: new Date().toISOString(), ...gitCommit(), quick, wallSeconds, command,
    machine: {
      cores: cpu.length, cpu: cpu[0]?.model.trim() ?? 'unknown', node: process.version,
      os: `${type()} ${release()} ${arch()}`, loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    },
  };
}

/**
 * The meta of a run that replaced some benchmarks' results in a directory which holds others'
 * from an earlier run (`previous`, its meta.json): those keep their own date and commit, so that
 * a report of the whole directory says where each came from.
 */
export function mergeMeta(fresh: RunMeta, previous: RunMeta | undefined, kept: (b: string) => boolean): RunMeta {
  if (previous === undefined) return fresh;
  const earlier: Record<string, EarlierRun> = {};
  const from = (b: string): EarlierRun | undefined => {
    if (previous.earlier?.[b]) return previous.earlier[b];
    const wall = previous.wallSeconds[b];
    if (wall === undefined) return undefined;
    return { date: previous.date, commit: previous.commit, dirty: previous.dirty, command: previous.command, wallSeconds: wall, quick: previous.quick };
  };
  for (const b of BENCHES) {
    const e = b in fresh.wallSeconds || !kept(b) ? undefined : from(b);
    if (e) earlier[b] = e;
  }
  return Object.keys(earlier).length === 0 ? fresh : { ...fresh, earlier };
}

/** The meta.json already in an output directory, if readable (a bad one is replaced, not fatal: the new results matter more). */
function readPreviousMeta(path: string): RunMeta | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as RunMeta;
    return typeof m === 'object' && m !== null && typeof m.wallSeconds === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new FiguresInputError(`${path} does not exist (run 'switchboard figures --out DIR' first, then --from DIR)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FiguresInputError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

interface Loaded {
  readonly results: Partial<Record<BenchName, BenchResult>>;
  readonly meta: RunMeta;
}

function loadSaved(dir: string, benches: readonly BenchName[]): Loaded {
  const results: Partial<Record<BenchName, BenchResult>> = {};
  for (const b of benches) results[b] = readJson(benchFile(dir, b)) as BenchResult;
  return { results, meta: readJson(join(dir, META_FILE)) as RunMeta };
}

async function runBenches(benches: readonly BenchName[], quick: boolean, bar: Progress, command: string): Promise<Loaded> {
  const wallSeconds: Record<string, number> = {};
  const meta0 = machineMeta(quick, wallSeconds, command);
  // If one benchmark fails, the other is stopped rather than left running for nothing.
  const abort = new AbortController();
  const runs = benches.map(async (b) => {
    const t0 = performance.now();
    try {
      const r = await runBenchChild(b, quick, (line) => bar.line(b, line), abort.signal);
      wallSeconds[b] = Math.round((performance.now() - t0) / 1000);
      bar.done(b);
      return [b, r] as const;
    } catch (err) {
      abort.abort();
      throw err;
    }
  });
  const results = Object.fromEntries(await Promise.all(runs)) as Partial<Record<BenchName, BenchResult>>;
  return { results, meta: { ...meta0, wallSeconds } };
}

/** Figures and claims of the results at hand, in the papers' order. */
export function figuresOf(results: Partial<Record<BenchName, BenchResult>>): { figure: Figure; claim: Claim }[] {
  const out: { figure: Figure; claim: Claim }[] = [];
  const wrap = <T>(name: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof FiguresInputError) throw err;
      throw new FiguresInputError(`${name}: ${(err as Error).message}`);
    }
  };
  if (results.nopaxos) {
    const n = wrap('nopaxos', () => asNopaxos(results.nopaxos));
    const claims = nopaxosClaims(n);
    nopaxosFigures(n).forEach((figure, i) => out.push({ figure, claim: claims[i]! }));
  }
  if (results.pegasus) {
    const p = wrap('pegasus', () => asPegasus(results.pegasus));
    const claims = pegasusClaims(p);
    pegasusFigures(p).forEach((figure, i) => out.push({ figure, claim: claims[i]! }));
  }
  return out;
}

export async function runFigures(opts: FiguresOptions): Promise<FiguresSummary> {
  const benches: BenchName[] = opts.only ? [opts.only] : [...BENCHES];
  const bar = progress(opts.from ? [] : benches, opts.quick);
  let loaded: Loaded;
  try {
    loaded = opts.from ? loadSaved(opts.from, benches) : await runBenches(benches, opts.quick, bar, opts.command);
  } finally {
    bar.stop();
  }
  mkdirSync(opts.out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer): void => {
    const path = join(opts.out, name);
    writeFileSync(path, data);
    files.push(path);
  };
  if (!opts.from) {
    const metaPath = join(opts.out, META_FILE);
    const previous = readPreviousMeta(metaPath);
    const meta = mergeMeta(loaded.meta, previous, (b) => existsSync(benchFile(opts.out, b as BenchName)));
    for (const b of benches) write(`${b}.bench.json`, `${JSON.stringify(loaded.results[b], null, 1)}\n`);
    write(META_FILE, `${JSON.stringify(meta, null, 1)}\n`);
    // --only into a directory that holds the other benchmark's earlier results: the figures and
    // the report cover the whole directory, as --from it would (meta.json names each run).
    if (meta.earlier !== undefined) loaded = loadSaved(opts.out, BENCHES.filter((b) => benches.includes(b) || meta.earlier?.[b] !== undefined));
  }
  const entries = figuresOf(loaded.results);
  for (const { figure, claim } of entries) {
    process.stderr.write(`plotting ${figure.name}\n`);
    const { svg, png } = await render(figure.spec);
    write(`${figure.name}.svg`, svg);
    write(`${figure.name}.png`, png);
    const data = { name: figure.name, title: figure.title, bench: figure.bench, source: figure.source, quick: loaded.meta.quick, rows: figure.rows, claim };
    write(`${figure.name}.json`, `${JSON.stringify(data, null, 1)}\n`);
  }
  const reportPath = opts.report ?? join(opts.out, 'report.md');
  const reportDir = dirname(reportPath);
  mkdirSync(reportDir, { recursive: true });
  const linkTo = (name: string, ext: string): string => relative(reportDir, join(opts.out, `${name}.${ext}`)).split('\\').join('/');
  writeFileSync(reportPath, buildReport({ meta: loaded.meta, entries, linkTo, ...(opts.from ? { replottedBy: opts.command } : {}) }));
  return { report: reportPath, files: [...files, reportPath], claims: entries.map((e) => e.claim) };
}
