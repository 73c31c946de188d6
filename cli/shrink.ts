// `switchboard sim <scenario> --shrink`: a failing run made small. Each group of the seed's plan
// events is left out in turn (a crash goes with its restart), then each network fault (drops,
// duplicates, jitter) is switched off, keeping every change under which the run still fails,
// and again until nothing more can go (greedy: a small run that fails, not the smallest). What is
// left is the replay command of a smaller run that fails: fewer things happen in it, so it is
// quicker to read (`--trace-out`).
import { formatFaults, type FaultSpec } from './options.ts';
import type { Scenario, ScenarioRun, SimReport } from './scenarios.ts';

export interface ShrinkResult {
  /** The plan's events kept (indices into planEvents). */
  readonly events: readonly number[];
  /** Of how many. */
  readonly of: number;
  /** The network faults of the smaller run (those switched off are 0). */
  readonly faults: FaultSpec;
  /** The smaller run's report (it fails). */
  readonly report: SimReport;
  /** Runs it took, the first (the failing run) included. */
  readonly runs: number;
  readonly replay: string;
}

/**
 * The events of a plan a run keeps (`ScenarioRun.events`): all, or those selected by index, each
 * with every other event of its group.
 */
export function keptEvents<E>(all: readonly E[], events: readonly number[] | undefined, groupOf: (e: E, i: number) => string): readonly E[] {
  if (events === undefined) return all;
  const groups = new Set(events.map((i) => groupOf(all[i]!, i)));
  return all.filter((e, i) => groups.has(groupOf(e, i)));
}

export const failed = (r: SimReport): boolean => r.violations.length > 0 || r.linearizable === false;

/** Network faults tried off, in this order. */
export const SWITCHABLE = ['dropRate', 'duplicateRate', 'jitterMs'] as const;

/** The command that replays `run` of scenario `name` (sim, sweep and shrink print it). */
export function replayCommand(name: string, run: ScenarioRun): string {
  const faults = formatFaults(run.faults);
  return `switchboard sim ${shellWord(name)} --seed ${run.seed}${run.ops ? ` --ops ${run.ops}` : ''}`
    + `${run.events ? ` --events ${run.events.length > 0 ? run.events.join(',') : 'none'}` : ''}`
    + `${faults ? ` --faults ${faults}` : ''}${run.plan === false ? ' --no-plan' : ''}`;
}

/** A scenario's name or module path as a shell word: quoted when it holds anything but plain path characters. */
function shellWord(s: string): string {
  return /^[\w./@:+=-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** A smaller run of `run` that still fails, or undefined if `run` passes (`first`: its report, if it ran already). */
export function shrink(name: string, scenario: Scenario, run: ScenarioRun, first?: SimReport): ShrinkResult | undefined {
  let runs = 1;
  let report = first ?? scenario.run(run);
  if (!failed(report)) return undefined;
  const plan = run.plan === false ? [] : scenario.planEvents?.(run) ?? [];
  const all = run.events ?? plan.map((_, i) => i);
  // The groups of the events the run had, in order of first event.
  const groups = new Map<string, number[]>();
  for (const i of all) groups.set(plan[i]!.group, [...(groups.get(plan[i]!.group) ?? []), i]);
  let kept = [...groups.keys()];
  let faults: FaultSpec = { ...scenario.randomFaults?.(run.seed), ...run.faults };
  const tryRun = (g: readonly string[], f: FaultSpec): boolean => {
    runs++;
    const r = scenario.run({ ...run, events: g.flatMap((x) => groups.get(x)!), faults: f });
    if (failed(r)) report = r;
    return failed(r);
  };
  // Until nothing more can go: a fault switched off can let an event go, and the other way.
  for (let changed = true; changed;) {
    changed = false;
    for (const g of [...kept]) {
      const without = kept.filter((x) => x !== g);
      if (tryRun(without, faults)) {
        kept = without;
        changed = true;
      }
    }
    for (const key of SWITCHABLE) {
      if (!faults[key]) continue;
      const off = { ...faults, [key]: 0 };
      if (tryRun(kept, off)) {
        faults = off;
        changed = true;
      }
    }
  }
  const events = kept.flatMap((g) => groups.get(g)!).sort((a, b) => a - b);
  return { events, of: plan.length, faults, report, runs, replay: replayCommand(name, { ...run, events, faults }) };
}
