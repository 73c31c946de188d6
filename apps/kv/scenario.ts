// One deterministic simulation of a kv baseline (unreplicated, Multi-Paxos) under a fault plan,
// as `switchboard sim paxos|unreplicated` and `switchboard sweep` need; the NOPaxos runner
// (apps/nopaxos/scenario.ts) does the same with NOPaxos's own faults. The plan is built by the
// protocol's scenario.ts from the seed alone, so a seed replays exactly. The run applies the
// plan's events at their times, then heals the network, clears every filter, turns drops and
// duplicates off and restarts crashed hosts; then every client must finish its workload
// (liveness), no actor may have failed (an at-most-once violation throws in the state
// machine), the protocol's own end check must pass, and the history must be linearizable.
import { runSim, seededRandom, type ActorRef, type SimRuntime, type Topology, type TraceSink } from '../../actors/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import type { KvHistory } from '../history/history.ts';
import type { DirectClientState } from './direct-client.ts';
import { awaitCompletion, checkKvHistory, dropHalfOf, failureViolations, guarded, playThenHeal } from './fault-run.ts';

export type BaselineFaultKind = 'crash' | 'restart' | 'isolate' | 'cut' | 'heal' | 'drop-type' | 'stop-drop-type';

export interface BaselineFaultEvent {
  readonly atMs: number;
  readonly kind: BaselineFaultKind;
  readonly host?: string;
  readonly other?: string;
  readonly msgType?: string;
  /** Pairs a start event with its end (crash/restart, drop-type/stop-drop-type). */
  readonly id?: number;
}

export interface BaselineFaultPlan {
  readonly link: LinkOptions;
  readonly events: readonly BaselineFaultEvent[];
  /** When the network heals and crashed hosts restart. */
  readonly healAtMs: number;
}

export interface BaselineRun {
  readonly seed: number;
  readonly topology: Topology;
  readonly clients: readonly ActorRef<never>[];
  readonly history: KvHistory;
  readonly plan: BaselineFaultPlan;
  /** Operations in all (the clients' workloads). */
  readonly ops: number;
  /** Give up on liveness after this much virtual time past the heal. Default 20 s. */
  readonly settleMs?: number;
  /** Step limit of the linearizability search. */
  readonly maxCheckSteps?: number;
  /** Checks after every simulated step (throw on a violation). */
  readonly onStep?: (rt: SimRuntime) => void;
  /** The protocol's checks at the end of the run (throw on a violation). */
  readonly endCheck?: (rt: SimRuntime) => void;
  /** Every traced message and noted fact, as the run goes (`sim --trace-out`). */
  readonly traceSink?: TraceSink;
}

export interface BaselineReport {
  readonly seed: number;
  readonly ops: number;
  readonly completed: number;
  /** null: not checked (the run broke something first). */
  readonly linearizable: boolean | null;
  readonly violations: string[];
  readonly traceHash: string;
  readonly virtualMs: number;
  /** What the plan did, with the times it happened. */
  readonly applied: string[];
  /** Client retries, in all. */
  readonly retries: number;
}

export function runBaselineScenario(run: BaselineRun): BaselineReport {
  const { plan } = run;
  const rt: SimRuntime = runSim(run.topology, { seed: run.seed, logLevel: 'silent', network: plan.link, ...(run.traceSink ? { traceSink: run.traceSink } : {}) });
  const clientState = (c: ActorRef<never>): DirectClientState | undefined => rt.stateOf<DirectClientState>(c);
  const completed = (): number => run.clients.reduce((k, c) => k + (clientState(c)?.d.completed ?? 0), 0);
  const violations: string[] = [];
  const applied: string[] = [];
  const stopDrops = new Map<number, () => void>();
  const crashed = new Map<number, string>();
  const isUp = (h: string): boolean => rt.system.hosts.get(h)!.up;
  if (run.onStep) rt.onStep(() => run.onStep!(rt));

  const apply = (e: BaselineFaultEvent): void => {
    const note = (what: string): void => { applied.push(`${rt.now().toFixed(1)} ${what}`); };
    switch (e.kind) {
      case 'crash':
        if (!isUp(e.host!)) return;
        rt.crash(e.host!);
        crashed.set(e.id!, e.host!);
        return note(`crash ${e.host}`);
      case 'restart': {
        const h = crashed.get(e.id!);
        if (h === undefined || isUp(h)) return;
        rt.restart(h);
        return note(`restart ${h}`);
      }
      case 'isolate': rt.isolate(e.host!); return note(`isolate ${e.host}`);
      case 'cut': rt.cut(e.host!, e.other!); return note(`cut ${e.host} ${e.other}`);
      case 'heal': rt.heal(); return note('heal');
      case 'drop-type':
        stopDrops.set(e.id!, dropHalfOf(rt, run.seed, e.id!, e.msgType!));
        return note(`drop half of ${e.msgType}`);
      case 'stop-drop-type': stopDrops.get(e.id!)?.(); stopDrops.delete(e.id!); return note(`stop dropping (${e.id})`);
    }
  };

  const settleMs = run.settleMs ?? 20_000;
  let ok = guarded(violations, () => {
    playThenHeal(rt, plan, apply, () => crashed.values());
    awaitCompletion(rt, completed, run.ops, settleMs, violations);
    // Let the periodic commit messages reach every replica before the end checks.
    rt.advance(200);
  });
  failureViolations(rt, violations);
  if (ok && violations.length === 0 && run.endCheck) ok = guarded(violations, () => run.endCheck!(rt));
  const linearizable = ok && violations.length === 0 ? checkKvHistory(run.history, run.maxCheckSteps ?? 10_000_000, violations) : null;
  return {
    seed: run.seed, ops: run.ops, completed: completed(), linearizable, violations,
    traceHash: rt.traceHash() ?? '', virtualMs: Math.round(rt.now() * 1000) / 1000, applied,
    retries: run.clients.reduce((k, c) => k + (clientState(c)?.d.retries ?? 0), 0),
  };
}

/** The network part of a baseline plan: drops, duplicates and reordering (jitter), from `pick`. */
export function randomLink(pick: <T>(xs: readonly T[]) => T): LinkOptions {
  return { latencyMs: 0.05, jitterMs: pick([0, 0.1, 2]), dropRate: pick([0, 0.01, 0.05, 0.2]), duplicateRate: pick([0, 0.05]) };
}

export interface ScenarioWorkload {
  readonly clients: number;
  /** Pause between a client's operations. */
  readonly thinkMs: number;
}

/**
 * How a seed's clients run its `ops` operations: 2, 3 or 5 clients, back to back (a burst at
 * the start, with the most concurrency) or spread over the first `windowMs` of the run, where
 * the fault plans place their events (so that the faults hit a busy system, not an idle one).
 * Drawn from its own stream of the seed: it leaves the fault plan of the seed as it was.
 */
export function randomWorkload(seed: number, ops: number, windowMs = 1500): ScenarioWorkload {
  const r = seededRandom(seed, 'scenario-workload');
  const clients = [2, 3, 5][Math.floor(r.next() * 3)]!;
  const perClient = Math.max(1, Math.ceil(ops / clients));
  const spreadMs = windowMs / perClient;
  const thinkMs = [0, spreadMs / 2, spreadMs][Math.floor(r.next() * 3)]!;
  return { clients, thinkMs: Math.round(thinkMs * 1000) / 1000 };
}
