// The replication scenarios of `switchboard sim` and `switchboard sweep`: nopaxos, paxos
// (Multi-Paxos) and unreplicated. Each seed draws its whole fault plan from the seed itself
// (apps/<protocol>/scenario.ts: the network's drop, duplicate and jitter rates, and the timed
// events: partitions, crashes and restarts, for NOPaxos leader crashes and sequencer failures;
// and the workload: how many clients, back to back or spread over the faults), so
// `switchboard sim nopaxos --seed N` replays a sweep's seed exactly. See docs/nopaxos.md. `--faults` overrides
// the plan's network rates (the sweep passes the plan's own, which changes nothing); `--no-plan`
// runs without the timed events, with only the faults given.
import type { TraceSink } from '../actors/index.ts';
import type { LinkOptions } from '../transport/memory/sim-network.ts';
import { randomFaultPlan, runNopaxosScenario, type FaultEvent, type FaultPlan } from '../apps/nopaxos/scenario.ts';
import { randomPaxosFaultPlan, runPaxosScenario, type PaxosFaultPlan } from '../apps/paxos/scenario.ts';
import { randomUnreplicatedFaultPlan, runUnreplicatedScenario } from '../apps/unreplicated/scenario.ts';
import { randomWorkload, type BaselineFaultEvent, type BaselineFaultPlan, type ScenarioWorkload } from '../apps/kv/scenario.ts';
import type { FaultSpec } from './options.ts';
import type { PlanEvent, Scenario, ScenarioRun } from './scenarios.ts';
import { keptEvents } from './shrink.ts';

export const DEFAULT_OPS = 120;
/** Without a plan, faults given on the command line last this long before the network heals. */
const FAULTS_LAST_MS = 3000;

/** The network rates of a plan, as `--faults` spells them. */
export function faultsOf(link: LinkOptions): FaultSpec {
  const f: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = {};
  if (link.dropRate !== undefined) f.dropRate = link.dropRate;
  if (link.duplicateRate !== undefined) f.duplicateRate = link.duplicateRate;
  if (link.jitterMs !== undefined) f.jitterMs = link.jitterMs;
  if (link.latencyMs !== undefined) f.latencyMs = link.latencyMs;
  return f;
}

function withFaults(link: LinkOptions, faults: FaultSpec): LinkOptions {
  return { ...link, ...faults };
}

const hasFaults = (f: FaultSpec): boolean => Object.keys(f).length > 0;
const traced = ({ trace }: ScenarioRun): { traceSink?: TraceSink } => (trace ? { traceSink: trace } : {});
const wall = (t0: number): number => Math.round((performance.now() - t0) * 1000) / 1000;

function nopaxosPlan({ seed, faults, plan, events }: ScenarioRun): FaultPlan {
  const base: FaultPlan = plan === false
    ? { replicas: 5, link: { latencyMs: 0.05 }, events: [], healAtMs: hasFaults(faults) ? FAULTS_LAST_MS : 0 }
    : randomFaultPlan(seed);
  return { ...base, events: keptEvents(base.events, events, groupOf), link: withFaults(base.link, faults) };
}

function paxosPlan({ seed, faults, plan, events }: ScenarioRun): PaxosFaultPlan {
  const base: PaxosFaultPlan = plan === false
    ? { replicas: 5, batchSize: 1, link: { latencyMs: 0.05 }, events: [], healAtMs: hasFaults(faults) ? FAULTS_LAST_MS : 0 }
    : randomPaxosFaultPlan(seed);
  return { ...base, events: keptEvents(base.events, events, groupOf), link: withFaults(base.link, faults) };
}

function unreplicatedPlan({ seed, faults, plan, events }: ScenarioRun, clients: number): BaselineFaultPlan {
  const base: BaselineFaultPlan = plan === false
    ? { link: { latencyMs: 0.05 }, events: [], healAtMs: hasFaults(faults) ? FAULTS_LAST_MS : 0 }
    : randomUnreplicatedFaultPlan(seed, clients);
  return { ...base, events: keptEvents(base.events, events, groupOf), link: withFaults(base.link, faults) };
}

/** A timed event's group: its pair's id (a crash and its restart), or itself. */
const groupOf = (e: { readonly id?: number }, i: number): string => (e.id !== undefined ? `id${e.id}` : `at${i}`);

/** The plan's events as `sim --events` lists them: when, what, and on whom. */
function planEventsOf(all: readonly (FaultEvent | BaselineFaultEvent)[]): PlanEvent[] {
  return all.map((e, i) => {
    const { atMs, kind, id: _id, ...rest } = e as FaultEvent & BaselineFaultEvent;
    const args = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    return { what: `${atMs.toFixed(1)} ms ${kind}${args ? ` ${args}` : ''}`, group: groupOf(e, i) };
  });
}

/** The seed's clients and think time (with a plan), or 3 clients back to back (without). */
function workload({ seed, ops, plan }: ScenarioRun): ScenarioWorkload {
  return plan === false ? { clients: 3, thinkMs: 0 } : randomWorkload(seed, ops ?? DEFAULT_OPS);
}

export const replicationScenarios: Record<string, Scenario> = {
  nopaxos: {
    description: 'NOPaxos (3, 5 or 7 replicas, host sequencers, a controller, 2 to 5 kv clients) under the seed\'s fault plan: '
      + 'drops, duplicates, reordering, partitions, replica and leader crashes with recovery, sequencer failure and failover',
    defaultOps: DEFAULT_OPS,
    randomFaults: (seed) => faultsOf(randomFaultPlan(seed).link),
    planEvents: ({ seed }) => planEventsOf(randomFaultPlan(seed).events),
    run(opts) {
      const w = workload(opts);
      const plan = nopaxosPlan(opts);
      const t0 = performance.now();
      const r = runNopaxosScenario({ seed: opts.seed, ops: opts.ops ?? DEFAULT_OPS, plan, clients: w.clients, thinkMs: w.thinkMs, ...traced(opts) });
      return {
        scenario: 'nopaxos', seed: r.seed, ops: r.ops, completed: r.completed, linearizable: r.linearizable,
        violations: r.violations, traceHash: r.traceHash, virtualMs: r.virtualMs, wallMs: wall(t0),
        details: { replicas: r.replicas, ...w, link: plan.link, events: r.applied, ...r.stats },
      };
    },
  },
  paxos: {
    description: 'Multi-Paxos (3, 5 or 7 replicas, stable leader, with or without batching, 2 to 5 kv clients) under the seed\'s fault plan: '
      + 'drops, duplicates, reordering, partitions, follower crashes and restarts',
    defaultOps: DEFAULT_OPS,
    randomFaults: (seed) => faultsOf(randomPaxosFaultPlan(seed).link),
    planEvents: ({ seed }) => planEventsOf(randomPaxosFaultPlan(seed).events),
    run(opts) {
      const w = workload(opts);
      const plan = paxosPlan(opts);
      const t0 = performance.now();
      const r = runPaxosScenario({ seed: opts.seed, ops: opts.ops ?? DEFAULT_OPS, plan, clients: w.clients, thinkMs: w.thinkMs, ...traced(opts) });
      return {
        scenario: 'paxos', seed: r.seed, ops: r.ops, completed: r.completed, linearizable: r.linearizable,
        violations: r.violations, traceHash: r.traceHash, virtualMs: r.virtualMs, wallMs: wall(t0),
        details: { replicas: r.replicas, batchSize: r.batchSize, ...w, link: plan.link, events: r.applied, prepares: r.prepares, retries: r.retries },
      };
    },
  },
  unreplicated: {
    description: 'one kv server and 2 to 5 clients under the seed\'s fault plan: drops, duplicates, reordering, partitions',
    defaultOps: DEFAULT_OPS,
    randomFaults: (seed) => faultsOf(randomUnreplicatedFaultPlan(seed).link),
    planEvents: (run) => planEventsOf(randomUnreplicatedFaultPlan(run.seed, workload(run).clients).events),
    run(opts) {
      const w = workload(opts);
      const plan = unreplicatedPlan(opts, w.clients);
      const t0 = performance.now();
      const r = runUnreplicatedScenario({ seed: opts.seed, ops: opts.ops ?? DEFAULT_OPS, plan, clients: w.clients, thinkMs: w.thinkMs, ...traced(opts) });
      return {
        scenario: 'unreplicated', seed: r.seed, ops: r.ops, completed: r.completed, linearizable: r.linearizable,
        violations: r.violations, traceHash: r.traceHash, virtualMs: r.virtualMs, wallMs: wall(t0),
        details: { ...w, link: plan.link, events: r.applied, retries: r.retries, duplicates: r.duplicates },
      };
    },
  },
};
