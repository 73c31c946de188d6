// The NOPaxos topology: n replicas (hosts r0..r{n-1}), the group's sequencer and its standbys
// (hosts seq0, seq1, ...: host-based sequencers), a controller (host ctrl) that fails over to a
// standby with a higher session, and clients (hosts c0, c1, ...) running the kv workload.
import { Topology, type ActorRef, type Msg, type Runtime } from '../../actors/index.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import type { DirectClientsOptions } from '../kv/direct-topology.ts';
import { driverSchemas } from '../kv/driver.ts';
import { hostSequencer, type SequencerMsg } from '../oum/host-sequencer.ts';
import { oumSchemas } from '../oum/messages.ts';
import { nopaxosClient } from './client.ts';
import { controller, type ControllerConfig } from './controller.ts';
import { nopaxosSchemas, type ClientMsg, type ControllerMsg, type ReplicaMsg } from './messages.ts';
import { nopaxosReplica, type NopaxosTimeouts } from './replica.ts';

export const REPLICA_PATH = 'nopaxos/replica';
export const CLIENT_PATH = 'nopaxos/client';
export const SEQUENCER_PATH = 'oum/sequencer';
export const CONTROLLER_PATH = 'nopaxos/controller';
export const GROUP = 1;

/** Clients as in apps/kv/direct-topology.ts; the controller routes the cli clients k0.. like the others. */
export interface NopaxosOptions extends DirectClientsOptions {
  /** Replicas, n = 2f+1. Default 5 (the paper's). */
  readonly replicas?: number;
  /** Sequencers in all, the first active. Default 2 (one standby). */
  readonly sequencers?: number;
  /** The session the group starts in. */
  readonly initialSession?: number;
  readonly timeouts?: Partial<NopaxosTimeouts>;
  readonly costs?: ServiceCosts;
  /** Log entries per state-transfer message (see ReplicaConfig.maxTransferOps). */
  readonly maxTransferOps?: number;
  /** Committed slots a replica keeps before truncating (see ReplicaConfig.logTail). */
  readonly logTail?: number;
  /** Controller probe settings; false: no controller. */
  readonly controller?: Partial<Pick<ControllerConfig, 'probeIntervalMs' | 'failAfterMs'>> | false;
}

export interface NopaxosTopology {
  readonly topology: Topology;
  readonly replicas: readonly ActorRef<ReplicaMsg>[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  readonly cliClients: readonly ActorRef<ClientMsg>[];
  readonly sequencers: readonly ActorRef<SequencerMsg>[];
  readonly controller: ActorRef<ControllerMsg> | undefined;
  readonly hosts: { readonly replicas: readonly string[]; readonly clients: readonly string[]; readonly cliClients: readonly string[]; readonly sequencers: readonly string[]; readonly controller: string | undefined };
  /** A new session on the active sequencer, through the controller (the reference's sessionChange()). */
  sessionChange(rt: Runtime): void;
  /** Move to the next sequencer now, through the controller. */
  failover(rt: Runtime): void;
}

export function nopaxosTopology(opts: NopaxosOptions = {}): NopaxosTopology {
  const n = opts.replicas ?? 5;
  const nClients = opts.clients ?? 1;
  const nSeq = opts.sequencers ?? 2;
  const initialSession = opts.initialSession ?? 0;
  if (!(n >= 1 && nClients >= 0 && nSeq >= 1)) throw new RangeError('nopaxos topology: bad sizes');
  const t = new Topology('nopaxos').messages({ ...nopaxosSchemas, ...oumSchemas, ...driverSchemas });
  const replicaHosts = Array.from({ length: n }, (_, i) => t.host(`r${i}`, { role: 'replica' }));
  const seqHosts = Array.from({ length: nSeq }, (_, i) => t.host(`seq${i}`, { role: 'sequencer' }));
  const clientHosts = Array.from({ length: nClients }, (_, i) => t.host(`c${i}`, { role: 'client' }));
  const cliHosts = Array.from({ length: opts.cliClients ?? 0 }, (_, i) => t.host(`k${i}`, { role: 'cli' }));
  const ctrlHost = opts.controller === false ? undefined : t.host('ctrl', { role: 'controller' });

  const replicas: ActorRef<ReplicaMsg>[] = replicaHosts.map((h) => ({ host: h, path: REPLICA_PATH }));
  const members = replicas as readonly ActorRef<Msg>[];
  const sequencers = seqHosts.map((h, i) => t.actor(h, SEQUENCER_PATH, hostSequencer(
    i === 0 ? { initialSession, groups: [{ group: GROUP, members }] } : { groups: [{ group: GROUP, members }] },
  )));
  const sequencerRefs = sequencers as unknown as readonly ActorRef<Msg>[];
  replicaHosts.forEach((h, i) => t.actor(h, REPLICA_PATH, nopaxosReplica({
    idx: i, replicas, initialSession, ...(opts.timeouts ? { timeouts: opts.timeouts } : {}), ...(opts.costs ? { costs: opts.costs } : {}),
    ...(opts.maxTransferOps ? { maxTransferOps: opts.maxTransferOps } : {}),
    ...(opts.logTail !== undefined ? { logTail: opts.logTail } : {}),
  })));
  const clients = clientHosts.map((h, i) => t.actor(h, CLIENT_PATH, nopaxosClient({
    group: GROUP, sequencer: sequencerRefs[0]!, replicas: n, ops: opts.opsPerClient ?? 0,
    ...(opts.workload ? { workload: opts.workload } : {}),
    ...(opts.history ? { history: opts.history } : {}),
    ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    startDelayMs: (opts.clientStartMs ?? 0) * i,
  })));
  const cliClients = cliHosts.map((h) => t.actor(h, CLIENT_PATH, nopaxosClient({
    group: GROUP, sequencer: sequencerRefs[0]!, replicas: n, ops: 0,
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  })));
  const ctrl = ctrlHost === undefined ? undefined : t.actor(ctrlHost, CONTROLLER_PATH, controller({
    group: GROUP, sequencers: sequencerRefs, members, senders: [...clients, ...cliClients], initialSession, keepers: replicas,
    ...(opts.controller ? opts.controller : {}),
  }));
  return {
    topology: t, replicas, clients, cliClients, sequencers, controller: ctrl,
    hosts: { replicas: replicaHosts, clients: clientHosts, cliClients: cliHosts, sequencers: seqHosts, controller: ctrlHost },
    sessionChange(rt) {
      if (!ctrl) throw new Error('this topology has no controller');
      rt.send(ctrl, { type: 'SessionChange' });
    },
    failover(rt) {
      if (!ctrl) throw new Error('this topology has no controller');
      rt.send(ctrl, { type: 'Failover' });
    },
  };
}
