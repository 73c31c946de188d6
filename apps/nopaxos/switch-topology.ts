// NOPaxos sequenced in the network, as in the paper's main experiments: the replicas (hosts
// r0..r{n-1}) and the client machines (hosts c0, c1, ...) hang off one top-of-rack switch
// (host tor) that runs the in-switch OUM sequencer (switch-model/programs/oum-sequencer.ts).
// A client sends its request into the switch on its own port; the sequencer stamps it and the
// traffic manager multicasts one copy to each replica's port. Replies and replica-to-replica
// messages travel host to host (the switch's forwarding of unicast traffic is not modelled;
// the network's default link stands for that path).
//
// Links: a host-to-switch link is half a host-to-host path (SWITCH_LINK_MS against the default
// 0.05 ms one way), so a request through the sequencer travels as far as one to an unreplicated
// server, plus the switch pipeline's latency (under a microsecond).
//
// There is no NOPaxos controller here (switch-standby.ts has one, with standby switches): a
// session change is made through the switch's OUM controller (sessionChange), and the switch
// must not restart (its setup would number the first session again); sequencer failover is
// measured with the host-based sequencers of topology.ts and with switch-standby.ts.
import { Topology, type ActorRef, type AnyRef, type Runtime } from '../../actors/index.ts';
import { oumController, oumMulticastGroup, oumSequencer, rack, type SwitchMode } from '../../switch-model/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import { driverSchemas } from '../kv/driver.ts';
import type { WorkloadOptions } from '../kv/workload.ts';
import type { HistorySink } from '../history/history.ts';
import { oumSchemas, type OumStartSession } from '../oum/messages.ts';
import { nopaxosClient } from './client.ts';
import { nopaxosSchemas, type ClientMsg, type ReplicaMsg } from './messages.ts';
import { nopaxosReplica, type NopaxosTimeouts } from './replica.ts';
import { CLIENT_PATH, GROUP, REPLICA_PATH } from './topology.ts';

/** One way, host to switch: half of the default host-to-host latency. */
export const SWITCH_LINK_MS = 0.025;
/** The session the switch starts in (0 means "no session" to the switch's register). */
export const SWITCH_INITIAL_SESSION = 1;

export interface NopaxosSwitchOptions {
  readonly replicas?: number;
  /** Client actors in all, spread over the client machines. */
  readonly clients?: number;
  /** Client machines (each one switch port). Default min(clients, 16). */
  readonly clientHosts?: number;
  readonly opsPerClient?: number;
  readonly workload?: WorkloadOptions;
  readonly thinkMs?: number;
  /** Clients start this late (the switch is configured at time 0). Default 0.01 ms. */
  readonly clientStartMs?: number;
  readonly history?: HistorySink;
  readonly timeouts?: Partial<NopaxosTimeouts>;
  /** Committed slots a replica keeps before truncating (see ReplicaConfig.logTail). */
  readonly logTail?: number;
  readonly requestTimeoutMs?: number;
  readonly costs?: ServiceCosts;
  /** Host-to-switch links. Default { latencyMs: SWITCH_LINK_MS }. */
  readonly switchLink?: LinkOptions;
  /** Default 'fused' (the fast mode; tests prove it equivalent to 'staged'). */
  readonly mode?: SwitchMode;
}

export interface NopaxosSwitchTopology {
  readonly topology: Topology;
  readonly replicas: readonly ActorRef<ReplicaMsg>[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  readonly hosts: { readonly replicas: readonly string[]; readonly clients: readonly string[]; readonly switch: string };
  /** A new session on the switch, through its OUM controller. */
  sessionChange(rt: Runtime, sessionNum: number): void;
}

export function nopaxosSwitchTopology(opts: NopaxosSwitchOptions = {}): NopaxosSwitchTopology {
  const n = opts.replicas ?? 5;
  const nClients = opts.clients ?? 1;
  const nMachines = Math.max(1, Math.min(opts.clientHosts ?? 16, nClients));
  if (!(n >= 1 && nClients >= 0)) throw new RangeError('nopaxos switch topology: bad sizes');
  const t = new Topology('nopaxos-switch').messages({ ...nopaxosSchemas, ...oumSchemas, ...driverSchemas });
  const replicaHosts = Array.from({ length: n }, (_, i) => `r${i}`);
  const clientHosts = Array.from({ length: nMachines }, (_, i) => `c${i}`);
  const clientPath = (k: number): string => `${CLIENT_PATH}${k}`;
  // Client k lives on machine k mod nMachines.
  const peer = (host: string): AnyRef => (host.startsWith('r') ? { host, path: REPLICA_PATH } : { host, path: clientPath(clientHosts.indexOf(host)) });
  const r = rack({
    topology: t, hosts: [...replicaHosts, ...clientHosts], program: oumSequencer(), mode: opts.mode ?? 'fused',
    peer, link: opts.switchLink ?? { latencyMs: SWITCH_LINK_MS },
    setup: (hosts) => ({
      entries: [{ table: 'groups', match: [GROUP], action: 'sequence', params: { counter: GROUP, mgid: oumMulticastGroup(GROUP) } }],
      // In the setup, so that the switch stamps from its first packet. The setup runs at every
      // start of the switch: a restarted switch would number this session again from 1, which
      // is not safe; this topology has no controller to move it to a new one, and is for
      // fault-free measurements (switch-standby.ts is the one for switch failures).
      registers: [{ register: 'session', index: 0, value: SWITCH_INITIAL_SESSION }],
      multicast: [{ group: oumMulticastGroup(GROUP), ports: hosts.filter((h) => replicaHosts.includes(h.name)).map((h) => h.port) }],
    }),
  });
  t.host('oumctl', { role: 'controller' });
  const ctl = t.actor('oumctl', 'oum/controller', oumController({ control: r.switch.control, ports: r.hosts.map((h) => h.peer) }));

  const replicas: ActorRef<ReplicaMsg>[] = replicaHosts.map((h) => ({ host: h, path: REPLICA_PATH }));
  replicaHosts.forEach((h, i) => t.actor(h, REPLICA_PATH, nopaxosReplica({
    idx: i, replicas, initialSession: SWITCH_INITIAL_SESSION,
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}), ...(opts.costs ? { costs: opts.costs } : {}),
    ...(opts.logTail !== undefined ? { logTail: opts.logTail } : {}),
  })));
  const clients = Array.from({ length: nClients }, (_, k) => {
    const host = clientHosts[k % nMachines]!;
    return t.actor(host, clientPath(k), nopaxosClient({
      group: GROUP, sequencer: r.host(host).ingress, replicas: n, ops: opts.opsPerClient ?? 0,
      ...(opts.workload ? { workload: opts.workload } : {}),
      ...(opts.history ? { history: opts.history } : {}),
      ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
      ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
      startDelayMs: opts.clientStartMs ?? 0.01,
    }));
  });
  return {
    topology: t, replicas, clients,
    hosts: { replicas: replicaHosts, clients: clientHosts, switch: r.switchHost },
    sessionChange(rt, sessionNum) {
      rt.send(ctl as ActorRef<OumStartSession>, { type: 'OumStartSession', sessionNum });
    },
  };
}
