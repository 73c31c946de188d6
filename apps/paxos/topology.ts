// The Multi-Paxos topology: n replicas (hosts r0..r{n-1}; r0 leads) and clients (hosts c0, ...).
import { Topology, type ActorRef } from '../../actors/index.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import { driverSchemas } from '../kv/driver.ts';
import type { Request } from '../kv/direct-client.ts';
import type { WorkloadOptions } from '../kv/workload.ts';
import type { HistorySink } from '../history/history.ts';
import { paxosClient } from './client.ts';
import { paxosSchemas, type ClientMsg, type ReplicaMsg } from './messages.ts';
import { paxosReplica } from './replica.ts';

export const REPLICA_PATH = 'paxos/replica';
export const CLIENT_PATH = 'paxos/client';

export interface PaxosOptions {
  readonly replicas?: number;
  /** Requests per Prepare (1: no batching). */
  readonly batchSize?: number;
  readonly clients?: number;
  readonly opsPerClient?: number;
  /** Extra client hosts k0, k1, ... (role 'cli') with no workload, for operations run from outside (`switchboard kv`). */
  readonly cliClients?: number;
  readonly workload?: WorkloadOptions;
  readonly thinkMs?: number;
  readonly clientStartMs?: number;
  readonly history?: HistorySink;
  readonly requestTimeoutMs?: number;
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
  const clientHosts = Array.from({ length: opts.clients ?? 1 }, (_, i) => t.host(`c${i}`, { role: 'client' }));
  const clients = clientHosts.map((h, i) => t.actor(h, CLIENT_PATH, paxosClient({
    server: replicas[0]! as ActorRef<Request>, ops: opts.opsPerClient ?? 0, startDelayMs: (opts.clientStartMs ?? 0) * i,
    ...(opts.workload ? { workload: opts.workload } : {}),
    ...(opts.history ? { history: opts.history } : {}),
    ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  })));
  const cliHosts = Array.from({ length: opts.cliClients ?? 0 }, (_, i) => t.host(`k${i}`, { role: 'cli' }));
  const cliClients = cliHosts.map((h) => t.actor(h, CLIENT_PATH, paxosClient({
    server: replicas[0]! as ActorRef<Request>, ops: 0,
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  })));
  return { topology: t, replicas, clients, cliClients, hosts: { replicas: replicaHosts, clients: clientHosts, cliClients: cliHosts } };
}
