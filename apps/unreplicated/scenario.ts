// One deterministic simulation of the unreplicated server with a fault plan drawn from a seed,
// for `switchboard sim unreplicated` and `switchboard sweep unreplicated`: drops, duplicates,
// reordering, the server or a client partitioned for a while, and bursts of lost requests or
// replies. The runner is apps/kv/scenario.ts.
//
// The server never crashes in a plan: it keeps its data in memory only, so a crash loses
// acknowledged writes, which is what replication is for (the NOPaxos and Multi-Paxos plans
// crash replicas).
import { seededRandom, type ActorRef, type TraceSink } from '../../actors/index.ts';
import { KvHistory } from '../history/history.ts';
import { randomLink, runBaselineScenario, type BaselineFaultEvent, type BaselineFaultPlan, type BaselineReport } from '../kv/scenario.ts';
import type { ServerState } from './replica.ts';
import { unreplicatedTopology } from './topology.ts';

const DROPPABLE_TYPES = ['Request', 'Reply'];

/** A random fault plan, a function of the seed only. */
export function randomUnreplicatedFaultPlan(seed: number, clients = 3): BaselineFaultPlan {
  const r = seededRandom(seed, 'unreplicated-fault-plan');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
  const link = randomLink(pick);
  const events: BaselineFaultEvent[] = [];
  const faults = 1 + Math.floor(r.next() * 6);
  for (let id = 0; id < faults; id++) {
    const atMs = Math.floor(r.next() * 1500);
    const durMs = 50 + Math.floor(r.next() * 600);
    switch (Math.floor(r.next() * 3)) {
      case 0: events.push({ atMs, kind: 'isolate', host: 's0' }, { atMs: atMs + durMs, kind: 'heal' }); break;
      case 1: events.push({ atMs, kind: 'cut', host: 's0', other: `c${Math.floor(r.next() * clients)}` }, { atMs: atMs + durMs, kind: 'heal' }); break;
      default: {
        const msgType = pick(DROPPABLE_TYPES);
        events.push({ atMs, kind: 'drop-type', msgType, id }, { atMs: atMs + durMs, kind: 'stop-drop-type', id });
      }
    }
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return { link, events, healAtMs: 2000 };
}

export interface UnreplicatedScenarioOptions {
  readonly seed: number;
  /** Operations in all (over the clients). Default 120. */
  readonly ops?: number;
  readonly clients?: number;
  /** Clients pause this long between operations. Default 0. */
  readonly thinkMs?: number;
  /** A fault plan, or none (a clean run). Default: randomUnreplicatedFaultPlan(seed). */
  readonly plan?: BaselineFaultPlan | 'none';
  readonly settleMs?: number;
  readonly maxCheckSteps?: number;
  /** Every traced message and noted fact, as the run goes (`sim --trace-out`). */
  readonly traceSink?: TraceSink;
}

export interface UnreplicatedScenarioReport extends BaselineReport {
  /** Retries the server answered from its client table. */
  readonly duplicates: number;
}

export function runUnreplicatedScenario(opts: UnreplicatedScenarioOptions): UnreplicatedScenarioReport {
  const nClients = opts.clients ?? 3;
  const plan: BaselineFaultPlan = opts.plan === 'none'
    ? { link: { latencyMs: 0.05 }, events: [], healAtMs: 0 }
    : opts.plan ?? randomUnreplicatedFaultPlan(opts.seed, nClients);
  const perClient = Math.ceil((opts.ops ?? 120) / nClients);
  const history = new KvHistory();
  const topo = unreplicatedTopology({ clients: nClients, opsPerClient: perClient, history, ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}) });
  let duplicates = 0;
  const report = runBaselineScenario({
    seed: opts.seed, topology: topo.topology, clients: topo.clients as readonly ActorRef<never>[], history, plan,
    ops: perClient * nClients,
    ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
    ...(opts.maxCheckSteps !== undefined ? { maxCheckSteps: opts.maxCheckSteps } : {}),
    ...(opts.traceSink ? { traceSink: opts.traceSink } : {}),
    endCheck: (rt) => {
      const s = rt.stateOf<ServerState>(topo.server);
      if (s === undefined) throw new Error('the server is not running');
      duplicates = s.duplicates;
      if (s.app.maxExecutions > 1) throw new Error(`a request executed ${s.app.maxExecutions} times`);
    },
  });
  return { ...report, duplicates };
}
