// NOPaxos sequenced in the network with standby switches: the topology of switch-topology.ts
// (replicas r0.., client machines c0.. on a top-of-rack switch running the in-switch OUM
// sequencer) with every host cabled to several switches, tor0 (active) and tor1.. (standbys),
// and the NOPaxos controller (host ctrl, cabled to every switch too) that watches the active
// one and fails over to the next (NOPaxos, section 3.3: a new sequencer with a higher session).
//
// Each switch host runs the sequencer program and, on its CPU, the OUM controller
// (oumController) that carries out the NOPaxos controller's OumSetGroup and OumStartSession and
// answers its OumPing with the session the data plane stamps with. A switch process that dies
// takes its data plane and its CPU with it: the NOPaxos controller hears no pong, installs the
// next session on a standby and routes the clients to that switch's address; the replicas see
// the higher session and change view.
//
// Sessions: only tor0's OUM controller installs one at its first start (SWITCH_INITIAL_SESSION,
// which the replicas start in). A switch that restarts (ctx.incarnation > 0: `node --rejoin`) or
// a standby has none and drops client traffic ('no-session') until the controller installs one:
// a restarted switch must never stamp again in a session it stamped before, since its counters
// started over.
//
// Clients send to the switch's address, which takes the ingress port from the sender's host;
// the hosts k0.. (role 'cli') are client machines with no workload, for `switchboard kv`.
import { Topology, type ActorRef, type AnyRef, type Msg, type Runtime } from '../../actors/index.ts';
import { addSwitchSchemas, oumController, oumMulticastGroup, oumSequencer, placeSwitch, type PacketIn, type SwitchMode, type SwitchRefs } from '../../switch-model/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import type { DirectClientsOptions } from '../kv/direct-topology.ts';
import { driverSchemas } from '../kv/driver.ts';
import { oumSchemas } from '../oum/messages.ts';
import { nopaxosClient } from './client.ts';
import { controller, type ControllerConfig } from './controller.ts';
import { nopaxosSchemas, type ClientMsg, type ControllerMsg, type ReplicaMsg } from './messages.ts';
import { nopaxosReplica, type NopaxosTimeouts } from './replica.ts';
import { SWITCH_INITIAL_SESSION, SWITCH_LINK_MS } from './switch-topology.ts';
import { CLIENT_PATH, CONTROLLER_PATH, GROUP, REPLICA_PATH } from './topology.ts';

/** The OUM controller on each switch host's CPU. */
export const SWITCH_CPU_PATH = 'oum/controller';

/** Clients: c0.. (one client actor each) with a workload, k0.. without, for operations run from outside. */
export interface NopaxosStandbyOptions extends DirectClientsOptions {
  readonly replicas?: number;
  /** Switches in all (tor0 active, the rest standbys). Default 2. */
  readonly switches?: number;
  readonly timeouts?: Partial<NopaxosTimeouts>;
  readonly costs?: ServiceCosts;
  readonly maxTransferOps?: number;
  /** Committed slots a replica keeps before truncating (see ReplicaConfig.logTail). */
  readonly logTail?: number;
  readonly controller?: Partial<Pick<ControllerConfig, 'probeIntervalMs' | 'failAfterMs'>>;
  /** Host-to-switch links in sim. Default { latencyMs: SWITCH_LINK_MS }. */
  readonly switchLink?: LinkOptions;
  readonly mode?: SwitchMode;
}

export interface NopaxosStandbyTopology {
  readonly topology: Topology;
  readonly replicas: readonly ActorRef<ReplicaMsg>[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  readonly cliClients: readonly ActorRef<ClientMsg>[];
  readonly switches: readonly SwitchRefs[];
  /** The switches' addresses: the sequencers the controller fails over between. */
  readonly sequencers: readonly ActorRef<Msg>[];
  readonly controller: ActorRef<ControllerMsg>;
  readonly hosts: {
    readonly replicas: readonly string[]; readonly clients: readonly string[]; readonly cliClients: readonly string[];
    readonly switches: readonly string[]; readonly controller: string;
  };
  /**
   * Host `host`'s port on switch `i`: for messages from outside the actors (an ask from outside
   * has no sender, so the switch's address could not tell the port it came in on).
   */
  ingress(host: string, i: number): ActorRef<Msg>;
  /** Move to the next switch now, through the controller. */
  failover(rt: Runtime): void;
}

export function nopaxosStandbyTopology(opts: NopaxosStandbyOptions = {}): NopaxosStandbyTopology {
  const n = opts.replicas ?? 3;
  const nSwitches = opts.switches ?? 2;
  const nClients = opts.clients ?? 1;
  const nCli = opts.cliClients ?? 0;
  if (!(n >= 1 && nSwitches >= 1 && nClients >= 0 && nCli >= 0)) throw new RangeError('nopaxos standby topology: bad sizes');
  const t = new Topology('nopaxos-switch').messages({ ...nopaxosSchemas, ...oumSchemas, ...driverSchemas });
  addSwitchSchemas(t);
  const replicaHosts = Array.from({ length: n }, (_, i) => t.host(`r${i}`, { role: 'replica' }));
  const clientHosts = Array.from({ length: nClients }, (_, i) => t.host(`c${i}`, { role: 'client' }));
  const cliHosts = Array.from({ length: nCli }, (_, i) => t.host(`k${i}`, { role: 'cli' }));
  const ctrlHost = t.host('ctrl', { role: 'controller' });
  const switchHosts = Array.from({ length: nSwitches }, (_, i) => t.host(`tor${i}`, { role: 'switch' }));

  // Port i of every switch is cabled to the same host: replicas, clients, cli clients, ctrl.
  const replicas: ActorRef<ReplicaMsg>[] = replicaHosts.map((h) => ({ host: h, path: REPLICA_PATH }));
  const peers: AnyRef[] = [
    ...replicas, ...[...clientHosts, ...cliHosts].map((h) => ({ host: h, path: CLIENT_PATH })), { host: ctrlHost, path: CONTROLLER_PATH },
  ];
  const link = opts.switchLink ?? { latencyMs: SWITCH_LINK_MS };
  const switches = switchHosts.map((sw) => {
    for (const p of peers) t.link(p.host, sw, link);
    const cpu: ActorRef<PacketIn> = { host: sw, path: SWITCH_CPU_PATH };
    const refs = placeSwitch(t, sw, {
      name: 'switch', program: oumSequencer(), mode: opts.mode ?? 'fused', ports: peers, packetIn: cpu,
      // The group's entry and multicast group at every start; the session only from the
      // controllers (see above).
      setup: {
        entries: [{ table: 'groups', match: [GROUP], action: 'sequence', params: { counter: GROUP, mgid: oumMulticastGroup(GROUP) } }],
        multicast: [{ group: oumMulticastGroup(GROUP), ports: replicas.map((_, i) => i) }],
      },
    });
    t.actor(sw, SWITCH_CPU_PATH, oumController({
      control: refs.control, ports: peers, ...(sw === switchHosts[0] ? { initialSessionNum: SWITCH_INITIAL_SESSION } : {}),
    }));
    return refs;
  });
  const sequencers = switches.map((s) => s.address);

  replicaHosts.forEach((h, i) => t.actor(h, REPLICA_PATH, nopaxosReplica({
    idx: i, replicas, initialSession: SWITCH_INITIAL_SESSION,
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}), ...(opts.costs ? { costs: opts.costs } : {}),
    ...(opts.maxTransferOps ? { maxTransferOps: opts.maxTransferOps } : {}),
    ...(opts.logTail !== undefined ? { logTail: opts.logTail } : {}),
  })));
  const clientOf = (host: string, i: number, ops: number, workload: boolean): ActorRef<ClientMsg> => t.actor(host, CLIENT_PATH, nopaxosClient({
    group: GROUP, sequencer: sequencers[0]!, replicas: n, ops,
    ...(workload && opts.workload ? { workload: opts.workload } : {}),
    ...(workload && opts.history ? { history: opts.history } : {}),
    ...(workload && opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    startDelayMs: (opts.clientStartMs ?? 0) * i,
  }));
  const clients = clientHosts.map((h, i) => clientOf(h, i, opts.opsPerClient ?? 0, true));
  const cliClients = cliHosts.map((h) => clientOf(h, 0, 0, false));
  const ctrl = t.actor(ctrlHost, CONTROLLER_PATH, controller({
    group: GROUP, sequencers, members: replicas as readonly ActorRef<Msg>[], senders: [...clients, ...cliClients], initialSession: SWITCH_INITIAL_SESSION,
    keepers: replicas,
    ...opts.controller,
  }));
  return {
    topology: t, replicas, clients, cliClients, switches, sequencers, controller: ctrl,
    hosts: { replicas: replicaHosts, clients: clientHosts, cliClients: cliHosts, switches: switchHosts, controller: ctrlHost },
    ingress(host, i) {
      const port = peers.findIndex((p) => p.host === host);
      if (port < 0 || !switches[i]) throw new Error(`no port of host '${host}' on switch ${i}`);
      return switches[i].ports[port]!;
    },
    failover: (rt) => rt.send(ctrl, { type: 'Failover' }),
  };
}
