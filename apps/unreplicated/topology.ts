// The unreplicated topology: one server (host s0) and clients (hosts c0, c1, ...).
import { Topology, type ActorRef } from '../../actors/index.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import { driverSchemas } from '../kv/driver.ts';
import type { WorkloadOptions } from '../kv/workload.ts';
import type { HistorySink } from '../history/history.ts';
import { unreplicatedClient } from './client.ts';
import { unreplicatedSchemas, type ClientMsg, type ServerMsg } from './messages.ts';
import { unreplicatedServer } from './replica.ts';

export const SERVER_PATH = 'unreplicated/server';
export const CLIENT_PATH = 'unreplicated/client';

export interface UnreplicatedOptions {
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

export interface UnreplicatedTopology {
  readonly topology: Topology;
  readonly server: ActorRef<ServerMsg>;
  readonly clients: readonly ActorRef<ClientMsg>[];
  readonly cliClients: readonly ActorRef<ClientMsg>[];
  readonly hosts: { readonly server: string; readonly clients: readonly string[]; readonly cliClients: readonly string[] };
}

export function unreplicatedTopology(opts: UnreplicatedOptions = {}): UnreplicatedTopology {
  const t = new Topology('unreplicated').messages({ ...unreplicatedSchemas, ...driverSchemas });
  const serverHost = t.host('s0', { role: 'server' });
  const server = t.actor(serverHost, SERVER_PATH, unreplicatedServer(opts.costs ? { costs: opts.costs } : {}));
  const clientHosts = Array.from({ length: opts.clients ?? 1 }, (_, i) => t.host(`c${i}`, { role: 'client' }));
  const clients = clientHosts.map((h, i) => t.actor(h, CLIENT_PATH, unreplicatedClient({
    server, ops: opts.opsPerClient ?? 0, startDelayMs: (opts.clientStartMs ?? 0) * i,
    ...(opts.workload ? { workload: opts.workload } : {}),
    ...(opts.history ? { history: opts.history } : {}),
    ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  })));
  const cliHosts = Array.from({ length: opts.cliClients ?? 0 }, (_, i) => t.host(`k${i}`, { role: 'cli' }));
  const cliClients = cliHosts.map((h) => t.actor(h, CLIENT_PATH, unreplicatedClient({
    server, ops: 0, ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  })));
  return { topology: t, server, clients, cliClients, hosts: { server: serverHost, clients: clientHosts, cliClients: cliHosts } };
}
