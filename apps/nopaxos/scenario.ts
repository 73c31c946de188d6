// One deterministic NOPaxos simulation with a fault plan drawn from a seed, as `switchboard sim
// nopaxos` and `switchboard sweep nopaxos` need: drops, duplicates, reordering, partitions,
// replica crashes and restarts (the leader's too), sequencer failure and failover, session
// changes, controller crashes and restarts, and bursts of lost protocol messages of one type. After the faults the network
// heals and crashed hosts restart; then every client must finish (liveness), the invariants
// must have held after every step, the replicas' logs must agree and the history must be
// linearizable. Every session number must be started by one sequencer once only (two
// sequencers stamping one session would break the order OUM promises).
//
// Replicas truncate their logs behind a checkpoint with a tail of SCENARIO_LOG_TAIL slots only
// (the default tail, 10,000, is more than a whole run), so that the faults meet truncated logs:
// a restarted replica recovers from a snapshot, a view change and a lagging follower fetch one.
//
// Replicas keep no disk state, so at most f of them may be without state (crashed, or
// restarted and not yet recovered) at once: beyond that, committed operations may be lost and
// recovery rightly refuses to proceed. The plan respects that bound when it crashes a replica.
import { runSim, seededRandom, type ActorRef, type SimRuntime, type TraceSink } from '../../actors/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import { KvHistory } from '../history/history.ts';
import type { HostSequencerState, SequencerMsg } from '../oum/host-sequencer.ts';
import { awaitCompletion, checkKvHistory, dropHalfOf, failureViolations, guarded, playThenHeal } from '../kv/fault-run.ts';
import type { NopaxosClientState } from './client.ts';
import { entryKey, NopaxosInvariants } from './invariants.ts';
import type { NopaxosReplica } from './replica.ts';
import { nopaxosTopology } from './topology.ts';

export type FaultKind =
  | 'crash' | 'restart' | 'isolate' | 'cut' | 'heal' | 'cut-sequencer'
  | 'crash-sequencer' | 'restart-sequencer' | 'session-change' | 'failover'
  | 'crash-controller' | 'restart-controller' | 'pause' | 'drop-type' | 'stop-drop-type';

export interface FaultEvent {
  readonly atMs: number;
  readonly kind: FaultKind;
  /** A replica index, or 'leader' (whoever leads when the event happens). */
  readonly replica?: number | 'leader';
  readonly other?: number;
  readonly msgType?: string;
  /** pause: the host ('seq0', 'ctrl'; a replica is given by `replica`) and for how long. */
  readonly host?: string;
  readonly durMs?: number;
  /** Pairs a start event with its end (crash/restart, drop-type/stop-drop-type). */
  readonly id?: number;
}

export interface FaultPlan {
  readonly replicas: number;
  readonly link: LinkOptions;
  readonly events: readonly FaultEvent[];
  /** When the network heals and crashed hosts restart. */
  readonly healAtMs: number;
}

/** Committed slots a replica keeps before truncating, in these runs (a run has a few hundred). */
export const SCENARIO_LOG_TAIL = 8;

const DROPPABLE_TYPES = [
  'StartView', 'ViewChange', 'ViewChangeRequest', 'StateTransferReply', 'StateTransferRequest', 'SyncCommit', 'SyncPrepare',
  'SyncPrepareReply', 'GapCommit', 'GapCommitReply', 'GapReply', 'GapRequest', 'StartViewReply', 'Recovery', 'RecoveryResponse',
  'Reply', 'OumRoute', 'OumPong', 'ViewChangeConfirm', 'ViewChangeConfirmed',
];

/** A random fault plan, a function of the seed only. */
export function randomFaultPlan(seed: number): FaultPlan {
  const r = seededRandom(seed, 'nopaxos-fault-plan');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
  const replicas = pick([3, 5, 7]);
  const link: LinkOptions = {
    latencyMs: 0.05, jitterMs: pick([0, 0.1, 2]), dropRate: pick([0, 0.01, 0.05, 0.2]), duplicateRate: pick([0, 0.05]),
  };
  const events: FaultEvent[] = [];
  const faults = 1 + Math.floor(r.next() * 8);
  for (let id = 0; id < faults; id++) {
    const atMs = Math.floor(r.next() * 1500);
    const durMs = 50 + Math.floor(r.next() * 1200);
    const replica = r.next() < 0.5 ? 'leader' as const : Math.floor(r.next() * replicas);
    const other = Math.floor(r.next() * replicas);
    switch (Math.floor(r.next() * 11)) {
      case 0: events.push({ atMs, kind: 'crash', replica, id }, { atMs: atMs + durMs, kind: 'restart', id }); break;
      case 1: events.push({ atMs, kind: 'isolate', replica }, { atMs: atMs + durMs, kind: 'heal' }); break;
      case 2: events.push({ atMs, kind: 'crash-sequencer' }); break;
      case 3: events.push({ atMs, kind: 'session-change' }); break;
      case 4: events.push({ atMs, kind: 'failover' }); break;
      case 5: events.push({ atMs, kind: 'cut', replica, other }, { atMs: atMs + durMs, kind: 'heal' }); break;
      case 6: events.push({ atMs, kind: 'cut-sequencer', replica }, { atMs: atMs + durMs, kind: 'heal' }); break;
      case 7: {
        const msgType = pick(DROPPABLE_TYPES);
        events.push({ atMs, kind: 'drop-type', msgType, id }, { atMs: atMs + durMs, kind: 'stop-drop-type', id });
        break;
      }
      case 8: events.push({ atMs, kind: 'crash-controller' }, { atMs: atMs + Math.floor(durMs / 10), kind: 'restart-controller' }); break;
      case 9: {
        const u = r.next();
        const host = u < 0.6 ? undefined : u < 0.8 ? 'seq0' : 'ctrl';
        events.push({ atMs, kind: 'pause', ...(host ? { host } : { replica }), durMs: Math.floor(durMs / 2) });
        break;
      }
      default: events.push({ atMs, kind: 'restart-sequencer' });
    }
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return { replicas, link, events, healAtMs: 3000 };
}

export interface ScenarioOptions {
  readonly seed: number;
  /** Operations in all (over 3 clients). Default 120. */
  readonly ops?: number;
  readonly clients?: number;
  /** Clients pause this long between operations (to spread the workload over the faults). Default 0. */
  readonly thinkMs?: number;
  /** A fault plan, or none (a clean run with 5 replicas). Default: randomFaultPlan(seed). */
  readonly plan?: FaultPlan | 'none';
  /** Give up on liveness after this much virtual time past the heal. */
  readonly settleMs?: number;
  /** Step limit of the linearizability search. */
  readonly maxCheckSteps?: number;
  /** Committed slots a replica keeps before truncating. Default SCENARIO_LOG_TAIL. */
  readonly logTail?: number;
  /** Every traced message and noted fact, as the run goes (`sim --trace-out`). */
  readonly traceSink?: TraceSink;
}

export interface ScenarioReport {
  readonly seed: number;
  readonly replicas: number;
  readonly ops: number;
  readonly completed: number;
  /** null: not checked (the run broke an invariant first). */
  readonly linearizable: boolean | null;
  readonly violations: string[];
  readonly traceHash: string;
  readonly virtualMs: number;
  /** What the plan did, with the times it happened. */
  readonly applied: string[];
  readonly stats: {
    viewChanges: number; gapCommits: number; stateTransfers: number; recoveries: number; rollbacks: number;
    truncations: number; snapshotsInstalled: number;
  };
}

export function runNopaxosScenario(opts: ScenarioOptions): ScenarioReport {
  const plan = opts.plan === 'none' ? { replicas: 5, link: { latencyMs: 0.05 }, events: [], healAtMs: 0 } : opts.plan ?? randomFaultPlan(opts.seed);
  const n = plan.replicas;
  const f = Math.floor((n - 1) / 2);
  const nClients = opts.clients ?? 3;
  const ops = opts.ops ?? 120;
  const perClient = Math.ceil(ops / nClients);
  const history = new KvHistory();
  const topo = nopaxosTopology({
    replicas: n, clients: nClients, opsPerClient: perClient, history, logTail: opts.logTail ?? SCENARIO_LOG_TAIL,
    ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
  });
  const rt: SimRuntime = runSim(topo.topology, { seed: opts.seed, logLevel: 'silent', network: plan.link, ...(opts.traceSink ? { traceSink: opts.traceSink } : {}) });
  const replicas = (): (NopaxosReplica | undefined)[] => topo.replicas.map((r) => rt.stateOf<NopaxosReplica>(r));
  const inv = new NopaxosInvariants(replicas);
  rt.onStep(() => inv.check());
  const sessionsOnce = oneSequencerPerSession(rt, topo.sequencers);
  rt.onStep(sessionsOnce);
  const completed = (): number => topo.clients.reduce((k, c) => k + (rt.stateOf<NopaxosClientState>(c)?.d.completed ?? 0), 0);
  const total = perClient * nClients;
  const violations: string[] = [];
  const applied: string[] = [];
  const crashed = new Map<number, string>();
  const stopDrops = new Map<number, () => void>();
  const host = (i: number): string => topo.hosts.replicas[i]!;
  const isUp = (h: string): boolean => rt.system.hosts.get(h)!.up;
  const resolve = (x: number | 'leader' | undefined): number => {
    if (typeof x === 'number') return x;
    const rs = replicas();
    for (let i = 0; i < n; i++) if (rs[i]?.amLeader() && rs[i]!.status !== 'recovering') return i;
    return 0;
  };
  const apply = (e: FaultEvent): void => {
    const note = (what: string): void => { applied.push(`${rt.now().toFixed(1)} ${what}`); };
    switch (e.kind) {
      case 'crash': {
        const i = resolve(e.replica);
        const lost = replicas().filter((x) => x === undefined || x.status === 'recovering').length;
        if (!isUp(host(i)) || lost >= f) return;
        rt.crash(host(i));
        crashed.set(e.id!, host(i));
        return note(`crash ${host(i)}`);
      }
      case 'restart': {
        const h = crashed.get(e.id!);
        if (h === undefined || isUp(h)) return;
        rt.restart(h);
        return note(`restart ${h}`);
      }
      case 'isolate': { const h = host(resolve(e.replica)); rt.isolate(h); return note(`isolate ${h}`); }
      case 'cut': {
        const a = host(resolve(e.replica));
        const b = host(e.other!);
        if (a !== b) { rt.cut(a, b); note(`cut ${a} ${b}`); }
        return;
      }
      case 'cut-sequencer': {
        const h = host(resolve(e.replica));
        for (const s of topo.hosts.sequencers) rt.cut(s, h);
        return note(`cut the sequencers from ${h}`);
      }
      case 'heal': rt.heal(); return note('heal');
      case 'crash-sequencer': if (isUp('seq0')) { rt.crash('seq0'); note('crash seq0'); } return;
      case 'restart-sequencer': if (!isUp('seq0')) { rt.restart('seq0'); note('restart seq0'); } return;
      case 'session-change': topo.sessionChange(rt); return note('session change');
      case 'crash-controller': if (isUp('ctrl')) { rt.crash('ctrl'); note('crash ctrl'); } return;
      case 'restart-controller': if (!isUp('ctrl')) { rt.restart('ctrl'); note('restart ctrl'); } return;
      case 'pause': {
        const h = e.host ?? host(resolve(e.replica));
        if (!isUp(h)) return;
        rt.pause(h, e.durMs!);
        return note(`pause ${h} ${e.durMs} ms`);
      }
      case 'failover': topo.failover(rt); return note('failover');
      case 'drop-type':
        stopDrops.set(e.id!, dropHalfOf(rt, opts.seed, e.id!, e.msgType!));
        return note(`drop half of ${e.msgType}`);
      case 'stop-drop-type': stopDrops.get(e.id!)?.(); stopDrops.delete(e.id!); return note(`stop dropping (${e.id})`);
    }
  };

  const settleMs = opts.settleMs ?? 20_000;
  let ok = guarded(violations, () => {
    playThenHeal(rt, plan, apply, () => [...topo.hosts.replicas, ...topo.hosts.sequencers, 'ctrl']);
    awaitCompletion(rt, completed, total, settleMs, violations);
    // Let synchronization bring every replica up to date.
    rt.advance(2500);
  });
  failureViolations(rt, violations);
  if (ok && violations.length === 0) ok = guarded(violations, () => checkLogs(replicas()));
  const linearizable = ok ? checkKvHistory(history, opts.maxCheckSteps ?? 10_000_000, violations) : null;
  const stats = { viewChanges: 0, gapCommits: 0, stateTransfers: 0, recoveries: 0, rollbacks: 0, truncations: 0, snapshotsInstalled: 0 };
  for (const r of replicas()) {
    if (r === undefined) continue;
    for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] += r.stats[k];
  }
  return {
    seed: opts.seed, replicas: n, ops: total, completed: completed(), linearizable, violations,
    traceHash: rt.traceHash() ?? '', virtualMs: Math.round(rt.now() * 1000) / 1000, applied, stats,
  };
}

/**
 * An invariant to check after every step: a session number, once a sequencer stamps with it, is
 * never taken again, by another sequencer or by the same one after a restart (its counters
 * started over). Throws, naming the session.
 */
export function oneSequencerPerSession(rt: SimRuntime, sequencers: readonly ActorRef<SequencerMsg>[]): () => void {
  const used = new Set<number>();
  const last = sequencers.map(() => ({ state: undefined as HostSequencerState | undefined, sessionNum: -1 }));
  return () => {
    sequencers.forEach((ref, i) => {
      const st = rt.stateOf<HostSequencerState>(ref);
      const seen = last[i]!;
      if (st === undefined || (st === seen.state && st.sessionNum === seen.sessionNum)) return;
      seen.state = st;
      seen.sessionNum = st.sessionNum;
      if (st.sessionNum < 0) return;
      if (used.has(st.sessionNum)) throw new Error(`session ${st.sessionNum} started a second time, on sequencer ${ref.host}`);
      used.add(st.sessionNum);
    });
  };
}

/**
 * Every replica's log agrees with the leader's, slot for slot, where both still have the slot
 * (above both log bases), and a replica that executed as far as the leader holds the same state.
 */
function checkLogs(rs: readonly (NopaxosReplica | undefined)[]): void {
  const live = rs.filter((r): r is NopaxosReplica => r !== undefined && r.status !== 'recovering');
  const leader = live.find((r) => r.amLeader() && r.status !== 'viewChange');
  if (leader === undefined) throw new Error('no replica leads a view at the end of the run');
  const leaderState = JSON.stringify(leader.app.snapshot());
  for (const r of live) {
    for (let op = Math.max(r.logBase, leader.logBase) + 1; op <= Math.min(r.lastOp, leader.lastOp); op++) {
      const a = entryKey(r.entry(op));
      const b = entryKey(leader.entry(op));
      if (a !== b) throw new Error(`logs differ at slot ${op}: replica ${r.idx} has ${a}, the leader (${leader.idx}) has ${b}`);
    }
    if (r.app.lastExecuted === leader.app.lastExecuted && JSON.stringify(r.app.snapshot()) !== leaderState) {
      throw new Error(`replica ${r.idx} and the leader (${leader.idx}) executed up to slot ${r.app.lastExecuted} but hold different states`);
    }
  }
}
