// Builders of the replicated kv protocols for distributed runs: NOPaxos (host-based OUM
// sequencers, or software switch hosts running the in-switch sequencer, with standbys and the
// controller that fails over), Multi-Paxos and the unreplicated server. Each makes the same
// topology sim and local mode run, with timeouts fit for real processes on a shared machine (the
// sim defaults assume microsecond links and never a busy CPU), workload clients c0.. that
// record their history, and hosts k0.. (role 'cli') kept for ad-hoc clients (`switchboard kv`),
// which `launch` does not start.
import { Type, type Static } from '@sinclair/typebox';
import { defineBuilder, type BuiltTopology } from '../../actors/topology-file.ts';
import type { ActorRef, Address, Msg, NodeRuntime } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { DriverState, InvokeResult } from '../../apps/kv/driver.ts';
import type { KvOp } from '../../apps/kv/kv.ts';
import type { ControllerState } from '../../apps/nopaxos/controller.ts';
import { DEFAULT_LOG_TAIL, type NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosStandbyTopology, SWITCH_CPU_PATH } from '../../apps/nopaxos/switch-standby.ts';
import { GROUP, nopaxosTopology } from '../../apps/nopaxos/topology.ts';
import type { HostSequencerState } from '../../apps/oum/host-sequencer.ts';
import type { OumPong, OumRoute, OumRouteAck } from '../../apps/oum/messages.ts';
import type { PaxosReplica } from '../../apps/paxos/replica.ts';
import { paxosTopology } from '../../apps/paxos/topology.ts';
import type { ServerState } from '../../apps/unreplicated/replica.ts';
import type { OumControllerState } from '../../switch-model/index.ts';
import { unreplicatedTopology } from '../../apps/unreplicated/topology.ts';
import { latencySummary, whenState, withExtras, type CliAccess } from './common.ts';

/** Refs of any message type: the builders only read states and send from outside. */
type Ref = Address;

/** A cli client waits this long for a sequencer's answer to its ping, per round. */
const PING_TIMEOUT_MS = 1500;

/** Parameters every kv builder here takes. */
const clientParams = {
  clients: Type.Integer({ minimum: 0, maximum: 64, default: 2, description: 'workload client hosts c0..' }),
  ops: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 1000, description: 'operations per workload client (closed loop)' }),
  keys: Type.Integer({ minimum: 1, maximum: 100_000, default: 5, description: 'keys of the workload, k0..' }),
  thinkMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'pause between two operations of a client' }),
  requestTimeoutMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 100, description: 'a client resends a request unanswered this long' }),
  cliClients: Type.Integer({ minimum: 0, maximum: 16, default: 1, description: 'hosts k0.. kept for `switchboard kv` (not started by launch)' }),
  history: Type.Boolean({ default: true, description: 'clients record their history (node --history-out, launch --check)' }),
  finalReads: Type.Boolean({ default: true, description: 'after its workload, a client reads every key (so a lost write shows in the history)' }),
};

const _clientParamsSchema = Type.Object(clientParams);
type ClientParams = Static<typeof _clientParamsSchema>;

interface KvClientState {
  readonly d: DriverState;
}

/** The job of a workload client host: its closed loop, then the final reads; the summary. */
function kvClientJob(node: NodeRuntime, ref: Ref, p: ClientParams): Promise<Record<string, unknown>> {
  return whenState<KvClientState>(node, ref, (s) => s.d.finishedAtMs !== undefined && s.d.current === undefined, async (s) => {
    const d = s.d;
    const elapsedMs = d.finishedAtMs! - d.startedAtMs;
    const summary = {
      completed: d.completed, retries: d.retries, elapsedMs: Math.round(elapsedMs),
      opsPerSec: Math.round((d.completed / Math.max(elapsedMs, 1)) * 1000), latencyMs: latencySummary(d.latenciesMs),
    };
    let finalReads = 0;
    if (p.finalReads) {
      for (let k = 0; k < p.keys; k++) {
        await invokeOn(node, ref, { op: 'get', key: `k${k}` }, 60_000);
        finalReads++;
      }
    }
    return { ...summary, ...(p.finalReads ? { finalReads } : {}) };
  });
}

/** One operation through a kv-driver client of this node, from outside (Invoke / InvokeResult). */
function invokeOn(node: NodeRuntime, ref: Ref, op: KvOp, timeoutMs: number): Promise<InvokeResult> {
  return node.ask<Msg, InvokeResult>(ref as ActorRef<Msg>, (replyTo) => ({ type: 'Invoke', op, replyTo }), timeoutMs);
}

function clientStatus(node: NodeRuntime, ref: Ref): Record<string, number> {
  const s = node.stateOf<KvClientState>(ref);
  return s ? { completed: s.d.completed, retries: s.d.retries } : {};
}

function onHost(refs: readonly Ref[], host: string): Ref | undefined {
  return refs.find((r) => r.host === host);
}

/** Clients, cli clients, history and the status and watch of client hosts. */
function kvBuilt(p: ClientParams, topo: { topology: BuiltTopology['topology']; clients: readonly Ref[]; cliClients: readonly Ref[] },
  history: KvHistory | undefined, serverStatus: (node: NodeRuntime) => Record<string, number> | undefined,
  cli: Omit<CliAccess, 'hosts'>): BuiltTopology {
  return withExtras({
    topology: topo.topology,
    watch(node) {
      const ref = onHost(topo.clients, node.hostName);
      return ref ? kvClientJob(node, ref, p) : undefined;
    },
    status(node) {
      const ref = onHost([...topo.clients, ...topo.cliClients], node.hostName);
      return ref ? clientStatus(node, ref) : serverStatus(node) ?? {};
    },
  }, { ...(history ? { history } : {}), cli: { hosts: topo.cliClients.map((r) => r.host), ...cli } });
}

function kvCli(cliClients: readonly Ref[], before?: (node: NodeRuntime, ref: Ref, deadline: number) => Promise<void>): Omit<CliAccess, 'hosts'> {
  return {
    async invoke(node, op, timeoutMs) {
      const ref = onHost(cliClients, node.hostName);
      if (!ref) throw new Error(`host '${node.hostName}' is not a cli client host`);
      const t0 = performance.now();
      await before?.(node, ref, t0 + timeoutMs);
      const r = await invokeOn(node, ref, op, Math.max(1, timeoutMs - (performance.now() - t0)));
      return { result: r.result, latencyMs: r.latencyMs };
    },
  };
}

// ---- NOPaxos -------------------------------------------------------------------------------

/**
 * Before a cli client's operation: a cli client host that starts after a failover would still
 * send to the first sequencer, and the controller, which may have had its acknowledgement of an
 * earlier route, would not route it again: ask the sequencers which one stamps (the highest
 * session) and route the client there. `pingVia` is where a ping to sequencer i from a host
 * goes (a switch takes it on that host's port).
 */
function routeToStamping(sequencers: readonly Ref[], controller: Ref | undefined, pingVia = (_host: string, i: number): Ref => sequencers[i]!) {
  return async (node: NodeRuntime, ref: Ref, deadline: number): Promise<void> => {
    let best: { i: number; session: number } | undefined;
    let seq = 0;
    // Rounds of pings until one stamps (a new ws link takes a moment to open; a dead
    // sequencer never answers): each round waits for every answer or its timeout.
    while (!best && performance.now() < deadline) {
      const wait = Math.max(1, Math.min(PING_TIMEOUT_MS, deadline - performance.now()));
      const pongs = await Promise.allSettled(sequencers.map((_, i) => node.ask<Msg, OumPong>(pingVia(node.hostName, i) as ActorRef<Msg>,
        (replyTo) => ({ type: 'OumPing', seq: seq++, replyTo }), wait)));
      pongs.forEach((r, i) => {
        if (r.status === 'fulfilled' && r.value.sessionNum >= 0 && (!best || r.value.sessionNum > best.session)) best = { i, session: r.value.sessionNum };
      });
    }
    if (!best) throw new Error('no sequencer answered with a session');
    const msg: OumRoute = {
      type: 'OumRoute', group: GROUP, sequencer: sequencers[best.i]! as ActorRef<Msg>, sessionNum: best.session,
      replyTo: (controller ?? ref) as ActorRef<OumRouteAck>,
    };
    node.send(ref as ActorRef<OumRoute>, msg);
  };
}

/** Status of a NOPaxos replica host. */
function replicaStatus(node: NodeRuntime, r: Ref): Record<string, number> {
  const s = node.stateOf<NopaxosReplica>(r);
  return s ? {
    served: s.stats.requests, view: s.view, session: s.sessNum, lastOp: s.lastOp, executed: s.lastExecutedOp,
    recovering: s.status === 'recovering' ? 1 : 0, normal: s.status === 'normal' ? 1 : 0,
    viewChanges: s.stats.viewChanges, recoveries: s.stats.recoveries, logBase: s.logBase, snapshots: s.stats.snapshotsInstalled,
  } : {};
}

/**
 * Status of the NOPaxos controller's host: `resumed` is 1 once a restarted controller has found
 * (or installed) the session to go on in, and `failovers` counts the sessions it installed.
 */
function controllerStatus(node: NodeRuntime, ref: Ref): Record<string, number> {
  const s = node.stateOf<ControllerState>(ref);
  if (!s) return {};
  const resumed = s.events.some((e) => e.kind === 'controller-restarted') ? 1 : 0;
  return { active: s.active, session: s.sessionNum, failovers: s.events.length - resumed, resumed };
}

/** The NOPaxos protocol's parameters, shared by both NOPaxos builders; `failing` is what the controller watches. */
function nopaxosParams(failing: 'sequencer' | 'switch') {
  return {
    probeMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 20, description: `the controller probes the active ${failing} this often` }),
    failAfterMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 400, description: 'silence after which the controller fails over' }),
    syncMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 200, description: 'the leader synchronizes this often' }),
    leaderTimeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 800, description: 'a follower that hears no sync this long suspects the leader' }),
    viewChangeMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 200, description: 'view change, start view, state transfer and recovery resend timeout' }),
    transferOps: Type.Integer({
      minimum: 1, maximum: 1000, default: 100,
      description: 'log entries per state-transfer message: 100 fit a loopback UDP datagram (64 KiB); give 2 for UDP between machines (1472 bytes)',
    }),
    logTail: Type.Integer({
      minimum: 0, maximum: 100_000_000, default: DEFAULT_LOG_TAIL,
      description: 'committed slots a replica keeps in its log before it truncates older ones (a checkpoint stands for them)',
    }),
  };
}

const _nopaxosParamsSchema = Type.Object({ ...clientParams, ...nopaxosParams('sequencer') });
type NopaxosParams = Static<typeof _nopaxosParamsSchema> & { readonly replicas: number };

/** Topology options from a NOPaxos builder's parameters. */
function nopaxosOptions(p: NopaxosParams, history: KvHistory | undefined) {
  return {
    replicas: p.replicas, clients: p.clients, cliClients: p.cliClients, opsPerClient: p.ops,
    workload: { keys: p.keys }, thinkMs: p.thinkMs, requestTimeoutMs: p.requestTimeoutMs, maxTransferOps: p.transferOps, logTail: p.logTail,
    ...(history ? { history } : {}),
    timeouts: {
      syncMs: p.syncMs, leaderSyncHeardMs: p.leaderTimeoutMs, viewChangeMs: p.viewChangeMs, startViewMs: p.viewChangeMs,
      stateTransferMs: p.viewChangeMs, recoveryMs: p.viewChangeMs,
    },
    controller: { probeIntervalMs: p.probeMs, failAfterMs: p.failAfterMs },
  };
}

export const nopaxos = defineBuilder({
  description: 'NOPaxos: replicas r0.. ordered by host-based OUM sequencers seq0.. (the first active, the rest standbys), '
    + 'a controller ctrl that fails over to a standby, workload clients c0.. and cli client hosts k0..',
  params: Type.Object({
    replicas: Type.Integer({ minimum: 1, maximum: 15, default: 3, description: 'replicas, n = 2f+1' }),
    sequencers: Type.Integer({ minimum: 1, maximum: 8, default: 2, description: 'host-based sequencers, the first active' }),
    ...clientParams,
    ...nopaxosParams('sequencer'),
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const t = nopaxosTopology({ ...nopaxosOptions(p, history), sequencers: p.sequencers });
    const replicas = t.replicas as readonly Ref[];
    const sequencers = t.sequencers as readonly Ref[];
    const serverStatus = (node: NodeRuntime): Record<string, number> | undefined => {
      const r = onHost(replicas, node.hostName);
      if (r) return replicaStatus(node, r);
      const q = onHost(sequencers, node.hostName);
      if (q) {
        const s = node.stateOf<HostSequencerState>(q);
        return s ? { served: s.stamped, session: s.sessionNum } : {};
      }
      if (t.controller && node.hostName === t.controller.host) return controllerStatus(node, t.controller);
      return undefined;
    };
    const route = routeToStamping(sequencers, t.controller);
    return kvBuilt(p, t, history, serverStatus, kvCli(t.cliClients, route));
  },
});

// ---- NOPaxos sequenced by the software switch ------------------------------------------------

export const nopaxosSwitch = defineBuilder({
  description: 'NOPaxos sequenced in the network: replicas r0.., clients c0.. and cli client hosts k0.. cabled to software switch '
    + 'hosts tor0.. whose pipelines run the in-switch OUM sequencer (tor0 active, the rest standbys); the controller ctrl '
    + 'fails over to a standby switch with a new session',
  params: Type.Object({
    replicas: Type.Integer({ minimum: 1, maximum: 15, default: 3, description: 'replicas, n = 2f+1' }),
    switches: Type.Integer({ minimum: 1, maximum: 4, default: 2, description: 'software switch hosts tor0.., the first active, the rest standbys' }),
    ...clientParams,
    ...nopaxosParams('switch'),
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const t = nopaxosStandbyTopology({ ...nopaxosOptions(p, history), switches: p.switches });
    const serverStatus = (node: NodeRuntime): Record<string, number> | undefined => {
      const r = onHost(t.replicas as readonly Ref[], node.hostName);
      if (r) return replicaStatus(node, r);
      if (node.hostName === t.controller.host) return controllerStatus(node, t.controller);
      if (!t.hosts.switches.includes(node.hostName)) return undefined;
      // A switch: the session its data plane stamps with (0: none) and the messages its
      // pipeline took in.
      const cpu = node.stateOf<OumControllerState>({ host: node.hostName, path: SWITCH_CPU_PATH });
      const pipeline = node.metrics().actors.find((a) => a.host === node.hostName && a.path === t.switches[0]!.address.path);
      return { session: cpu?.sessionNum ?? 0, ...(pipeline ? { served: pipeline.processed } : {}) };
    };
    const route = routeToStamping(t.sequencers, t.controller, (host, i) => t.ingress(host, i));
    return kvBuilt(p, t, history, serverStatus, kvCli(t.cliClients, route));
  },
});

// ---- Multi-Paxos ---------------------------------------------------------------------------

export const paxos = defineBuilder({
  description: 'Multi-Paxos with a stable leader r0: replicas r0.., workload clients c0.. and cli client hosts k0..',
  params: Type.Object({
    replicas: Type.Integer({ minimum: 1, maximum: 15, default: 3, description: 'replicas, n = 2f+1; r0 leads' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'requests per Prepare (1: no batching)' }),
    ...clientParams,
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const t = paxosTopology({
      replicas: p.replicas, batchSize: p.batchSize, clients: p.clients, cliClients: p.cliClients, opsPerClient: p.ops,
      workload: { keys: p.keys }, thinkMs: p.thinkMs, requestTimeoutMs: p.requestTimeoutMs, ...(history ? { history } : {}),
    });
    const serverStatus = (node: NodeRuntime): Record<string, number> | undefined => {
      const r = onHost(t.replicas as readonly Ref[], node.hostName);
      if (!r) return undefined;
      const s = node.stateOf<PaxosReplica>(r);
      return s ? { served: s.executedOp, lastOp: s.lastOp, committed: s.commitNum } : {};
    };
    return kvBuilt(p, t, history, serverStatus, kvCli(t.cliClients));
  },
});

// ---- unreplicated --------------------------------------------------------------------------

export const unreplicated = defineBuilder({
  description: 'the unreplicated baseline: one server s0, workload clients c0.. and cli client hosts k0..',
  params: Type.Object({ ...clientParams }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const t = unreplicatedTopology({
      clients: p.clients, cliClients: p.cliClients, opsPerClient: p.ops, workload: { keys: p.keys }, thinkMs: p.thinkMs,
      requestTimeoutMs: p.requestTimeoutMs, ...(history ? { history } : {}),
    });
    const serverStatus = (node: NodeRuntime): Record<string, number> | undefined => {
      if (node.hostName !== t.server.host) return undefined;
      const s = node.stateOf<ServerState>(t.server);
      return s ? { served: s.requests } : {};
    };
    return kvBuilt(p, t, history, serverStatus, kvCli(t.cliClients));
  },
});
