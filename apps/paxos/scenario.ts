// One deterministic Multi-Paxos simulation with a fault plan drawn from a seed, for
// `switchboard sim paxos` and `switchboard sweep paxos`: drops, duplicates, reordering,
// partitions (of a follower, of the leader, of a leader-follower pair), bursts of lost messages
// of one type, and follower crashes with restarts. The runner is apps/kv/scenario.ts.
//
// What the plan leaves out, because this baseline does not handle it (see replica.ts): the
// leader never crashes (there is no leader change), and a follower that restarts has lost its
// log and never catches up (the leader resends only above what it acknowledged), so at most f
// distinct followers ever crash in one run; beyond that the group could not commit.
import { seededRandom, type ActorRef, type TraceSink } from '../../actors/index.ts';
import { KvHistory } from '../history/history.ts';
import { randomLink, runBaselineScenario, type BaselineFaultEvent, type BaselineFaultPlan, type BaselineReport } from '../kv/scenario.ts';
import type { PaxosReplica } from './replica.ts';
import { paxosTopology } from './topology.ts';

export interface PaxosFaultPlan extends BaselineFaultPlan {
  readonly replicas: number;
  readonly batchSize: number;
}

const DROPPABLE_TYPES = ['Request', 'Reply', 'Prepare', 'PrepareOK', 'Commit'];

/** A random fault plan, a function of the seed only. */
export function randomPaxosFaultPlan(seed: number): PaxosFaultPlan {
  const r = seededRandom(seed, 'paxos-fault-plan');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
  const replicas = pick([3, 5, 7]);
  const f = (replicas - 1) / 2;
  const batchSize = pick([1, 1, 4]);
  const link = randomLink(pick);
  const host = (i: number): string => `r${i}`;
  const follower = (): number => 1 + Math.floor(r.next() * (replicas - 1));
  const events: BaselineFaultEvent[] = [];
  const crashedFollowers = new Set<number>();
  const faults = 1 + Math.floor(r.next() * 8);
  for (let id = 0; id < faults; id++) {
    const atMs = Math.floor(r.next() * 1500);
    const durMs = 50 + Math.floor(r.next() * 1200);
    switch (Math.floor(r.next() * 5)) {
      case 0: {
        const i = follower();
        if (!crashedFollowers.has(i) && crashedFollowers.size >= f) break;
        crashedFollowers.add(i);
        events.push({ atMs, kind: 'crash', host: host(i), id }, { atMs: atMs + durMs, kind: 'restart', id });
        break;
      }
      case 1: events.push({ atMs, kind: 'isolate', host: host(follower()) }, { atMs: atMs + durMs, kind: 'heal' }); break;
      case 2: events.push({ atMs, kind: 'isolate', host: host(0) }, { atMs: atMs + Math.min(durMs, 300), kind: 'heal' }); break;
      case 3: events.push({ atMs, kind: 'cut', host: host(0), other: host(follower()) }, { atMs: atMs + durMs, kind: 'heal' }); break;
      default: {
        const msgType = pick(DROPPABLE_TYPES);
        events.push({ atMs, kind: 'drop-type', msgType, id }, { atMs: atMs + durMs, kind: 'stop-drop-type', id });
      }
    }
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return { replicas, batchSize, link, events, healAtMs: 3000 };
}

export interface PaxosScenarioOptions {
  readonly seed: number;
  /** Operations in all (over the clients). Default 120. */
  readonly ops?: number;
  readonly clients?: number;
  /** Clients pause this long between operations. Default 0. */
  readonly thinkMs?: number;
  /** A fault plan, or none (a clean run with 5 replicas). Default: randomPaxosFaultPlan(seed). */
  readonly plan?: PaxosFaultPlan | 'none';
  readonly settleMs?: number;
  readonly maxCheckSteps?: number;
  /** Every traced message and noted fact, as the run goes (`sim --trace-out`). */
  readonly traceSink?: TraceSink;
}

export interface PaxosScenarioReport extends BaselineReport {
  readonly replicas: number;
  readonly batchSize: number;
  readonly prepares: number;
}

export function runPaxosScenario(opts: PaxosScenarioOptions): PaxosScenarioReport {
  const plan: PaxosFaultPlan = opts.plan === 'none'
    ? { replicas: 5, batchSize: 1, link: { latencyMs: 0.05 }, events: [], healAtMs: 0 }
    : opts.plan ?? randomPaxosFaultPlan(opts.seed);
  const nClients = opts.clients ?? 3;
  const perClient = Math.ceil((opts.ops ?? 120) / nClients);
  const history = new KvHistory();
  const topo = paxosTopology({ replicas: plan.replicas, batchSize: plan.batchSize, clients: nClients, opsPerClient: perClient, history, ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}) });
  let leader: PaxosReplica | undefined;
  const report = runBaselineScenario({
    seed: opts.seed, topology: topo.topology, clients: topo.clients as readonly ActorRef<never>[], history, plan,
    ops: perClient * nClients,
    ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
    ...(opts.maxCheckSteps !== undefined ? { maxCheckSteps: opts.maxCheckSteps } : {}),
    ...(opts.traceSink ? { traceSink: opts.traceSink } : {}),
    endCheck: (rt) => {
      leader = rt.stateOf<PaxosReplica>(topo.replicas[0]!);
      if (leader === undefined) throw new Error('the leader is not running');
      checkPaxosLogs(leader, topo.replicas.slice(1).map((r) => rt.stateOf<PaxosReplica>(r)));
    },
  });
  return { ...report, replicas: plan.replicas, batchSize: plan.batchSize, prepares: leader?.prepares ?? 0 };
}

/** What a follower committed is what the leader has in those slots, request for request. */
export function checkPaxosLogs(leader: PaxosReplica, followers: readonly (PaxosReplica | undefined)[]): void {
  const key = (reqs: readonly { clientId: string; clientReqId: number }[] | undefined): string =>
    reqs === undefined ? '(missing)' : reqs.map((q) => `${q.clientId}#${q.clientReqId}`).join(',');
  for (const r of followers) {
    if (r === undefined) continue;
    if (r.commitNum > leader.commitNum) throw new Error(`replica ${r.idx} committed ${r.commitNum}, beyond the leader's ${leader.commitNum}`);
    for (let op = 1; op <= r.commitNum; op++) {
      const a = key(r.log.get(op));
      const b = key(leader.log.get(op));
      if (a !== b) throw new Error(`replica ${r.idx} committed ${a} in slot ${op}, the leader has ${b}`);
    }
  }
}
