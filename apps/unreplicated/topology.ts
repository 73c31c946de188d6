// The unreplicated topology: one server (host s0) and clients (hosts c0, c1, ...).
import { Topology, type ActorRef } from '../../actors/index.ts';
import type { ServiceCosts } from '../kv/cost.ts';
import { addDirectClients, type DirectClientsOptions } from '../kv/direct-topology.ts';
import { driverSchemas } from '../kv/driver.ts';
import { unreplicatedSchemas, type ClientMsg, type ServerMsg } from './messages.ts';
import { unreplicatedServer } from './replica.ts';

export const SERVER_PATH = 'unreplicated/server';
export const CLIENT_PATH = 'unreplicated/client';

export interface UnreplicatedOptions extends DirectClientsOptions {
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
  const c = addDirectClients(t, CLIENT_PATH, server, opts);
  return { topology: t, server, clients: c.clients, cliClients: c.cliClients, hosts: { server: serverHost, ...c.hosts } };
}
