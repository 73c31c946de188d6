// The Multi-Paxos topology: n replicas (hosts r0..r{n-1}; r0 leads) and clients (hosts c0, ...).
import { Topology, type ActorRef } from '../../actors/index.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import type { Request } from '../kv/direct-client.ts';
import { addDirectClients, type DirectClientsOptions } from '../kv/direct-topology.ts';
import { driverSchemas } from '../kv/driver.ts';
import { paxosSchemas, type ClientMsg, type ReplicaMsg } from './messages.ts';
import { paxosReplica } from './replica.ts';

export const REPLICA_PATH = 'paxos/replica';
export const CLIENT_PATH = 'paxos/client';

export interface PaxosOptions extends DirectClientsOptions {
  readonly replicas?: number;
  /** Requests per Prepare (1: no batching). */
  readonly batchSize?: number;
  readonly costs?: ServiceCosts;
}

export interface PaxosTopology {
  readonly topology: Topology;
  readonly replicas: readonly ActorRef<ReplicaMsg>[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  readonly cliClients: readonly ActorRef<ClientMsg>[];
  readonly hosts: { readonly replicas: readonly string[]; readonly clients: readonly string[]; readonly cliClients: readonly string[] };
}

export function paxosTopology(opts: PaxosOptions = {}): PaxosTopology {
  const n = opts.replicas ?? 5;
  const t = new Topology('paxos').messages({ ...paxosSchemas, ...driverSchemas });
  const replicaHosts = Array.from({ length: n }, (_, i) => t.host(`r${i}`, { role: 'replica' }));
  const replicas: ActorRef<ReplicaMsg>[] = replicaHosts.map((h) => ({ host: h, path: REPLICA_PATH }));
  replicaHosts.forEach((h, i) => t.actor(h, REPLICA_PATH, paxosReplica({
    idx: i, replicas, batchSize: opts.batchSize ?? 1, ...(opts.costs ? { costs: opts.costs } : {}),
  })));
  const c = addDirectClients(t, CLIENT_PATH, replicas[0]! as ActorRef<Request>, opts);
  return { topology: t, replicas, clients: c.clients, cliClients: c.cliClients, hosts: { replicas: replicaHosts, ...c.hosts } };
}
