// The scenarios `switchboard sim` can run. Each builds its topology, runs it in sim mode with
// a seed and faults, and reports in the common shape of DESIGN.md's command table.
import { runSim, type TraceSink } from '../actors/index.ts';
import type { PingerState } from '../apps/pingpong/pingpong.ts';
import { pingPongTopology } from '../apps/pingpong/topology.ts';
import type { FaultSpec } from './options.ts';
import { kvScenarios } from './kv-scenarios.ts';
import { replicationScenarios } from './replication-scenarios.ts';

export interface SimReport {
  scenario: string;
  seed: number;
  ops: number;
  completed: number;
  /** null when the scenario records no client history to check. */
  linearizable: boolean | null;
  violations: string[];
  traceHash: string;
  virtualMs: number;
  wallMs: number;
  /** Scenario-specific figures. */
  details: Record<string, unknown>;
}

export interface ScenarioRun {
  readonly seed: number;
  readonly ops: number | undefined;
  readonly faults: FaultSpec;
  /** false: without the seed's random fault plan, only `faults` (sim --no-plan). Default true. */
  readonly plan?: boolean;
  /** Every traced message and noted fact, as the run goes (sim --trace-out). */
  readonly trace?: TraceSink;
  /**
   * Only these of the seed's plan events (indices into planEvents), each with the rest of its
   * group (a crash with its restart): `sim --events`, and what `sim --shrink` tries. Default all.
   */
  readonly events?: readonly number[];
}

/** One timed event of a seed's fault plan, as `sim --events` and `--shrink` see it. */
export interface PlanEvent {
  readonly what: string;
  /** Events of one group are kept or left out together (a crash and its restart). */
  readonly group: string;
}

export interface Scenario {
  readonly description: string;
  readonly defaultOps: number;
  run(opts: ScenarioRun): SimReport;
  /** The fault plan of one seed in a sweep; default: random network faults. */
  randomFaults?(seed: number): FaultSpec;
  /** The timed events of the run's plan, in order (what `events` indexes); none if left out. */
  planEvents?(run: ScenarioRun): readonly PlanEvent[];
}

export const scenarios: Record<string, Scenario> = {
  pingpong: {
    description: 'a pinger on host a and a ponger on host b; pings are resent until answered',
    defaultOps: 1000,
    run({ seed, ops, faults, trace }) {
      const count = ops ?? 1000;
      const pp = pingPongTopology({
        count,
        // A rack-like link whose jitter makes every seed a different run, plus the faults asked for.
        link: { latencyMs: 0.05, jitterMs: 0.02, ...faults },
      });
      const t0 = performance.now();
      const sim = runSim(pp.topology, { seed, ...(trace ? { traceSink: trace } : {}) });
      // A lossy run finishes by retries; the limit only guards against a protocol bug.
      const { idle } = sim.runUntilIdle({ maxMs: 600_000 });
      const wallMs = performance.now() - t0;
      const s = sim.stateOf<PingerState>(pp.pinger)!;
      const violations: string[] = [];
      if (!idle) violations.push('the run did not finish within 600 s of virtual time');
      if (s.answered !== count) violations.push(`${count - s.answered} pings never answered`);
      return {
        scenario: 'pingpong', seed, ops: count, completed: s.answered, linearizable: null, violations,
        traceHash: sim.traceHash()!, virtualMs: round(sim.now()), wallMs: round(wallMs),
        details: {
          resent: s.resent, duplicatePongs: s.duplicates,
          meanRttMs: s.answered ? round(s.rttSumMs / s.answered) : null, maxRttMs: round(s.rttMaxMs),
          messages: sim.system.trace!.count, links: sim.network.stats(),
        },
      };
    },
  },
  ...replicationScenarios,
  ...kvScenarios,
};

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
