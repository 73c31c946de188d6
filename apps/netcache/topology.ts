// NetCache in one rack: servers s0..s{n-1} on ports 0..n-1, clients after them, one
// top-of-rack switch running the cache, and a controller (host ctrl) on its control plane.
import { Topology, type ActorRef, type Msg } from '../../actors/index.ts';
import { addSwitchSchemas, placeSwitch, type ControlRequest } from '../../switch-model/index.ts';
import { Ring } from '../kv-hash/ring.ts';
import { clientHostNames, clientRole, DEFAULT_LINK, homeItems, loadConfig, SMALL_WORKLOAD, type KvRackOptions } from '../kv-hash/topology.ts';
import { netcacheClient } from './client.ts';
import { netcacheController, type NetCacheControllerConfig } from './controller.ts';
import { netcacheSchemas, type ClientMsg, type ControllerMsg, type ServerMsg } from './messages.ts';
import { netcacheServer } from './server.ts';
import { DEFAULT_CACHE_SIZE, netcacheProgram, type NetCacheOptions } from './switch-program.ts';

export const SERVER_PATH = 'netcache/server';
export const CLIENT_PATH = 'netcache/client';
export const CONTROLLER_PATH = 'netcache/controller';

export interface NetCacheTopologyOptions extends KvRackOptions {
  readonly cache?: NetCacheOptions;
  readonly preload?: readonly string[];
  readonly controller?: Partial<Pick<NetCacheControllerConfig, 'epochMs' | 'retryMs' | 'parallel' | 'evictSample'>> & { readonly threshold?: number };
}

export interface NetCacheTopology {
  readonly topology: Topology;
  readonly servers: readonly ActorRef<ServerMsg>[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  /** Clients with no workload (KvRackOptions.cliClients). */
  readonly cliClients: readonly ActorRef<ClientMsg>[];
  readonly controller: ActorRef<ControllerMsg>;
  readonly switchHost: string;
}

export function netcacheTopology(o: NetCacheTopologyOptions = {}): NetCacheTopology {
  const n = o.servers ?? 4;
  const nc = o.clients ?? 1;
  const t = new Topology('netcache').messages(netcacheSchemas);
  addSwitchSchemas(t);
  const link = o.link ?? DEFAULT_LINK;
  const tor = t.host('tor', { role: 'switch' });
  const serverHosts = Array.from({ length: n }, (_, i) => t.host(`s${i}`, { role: 'server' }));
  const clientHosts = clientHostNames(o).map((h) => t.host(h, { role: clientRole(h) }));
  const ctrlHost = t.host('ctrl', { role: 'controller' });
  for (const h of [...serverHosts, ...clientHosts]) t.link(h, tor, link);
  const cacheSize = o.cache?.cacheSize ?? DEFAULT_CACHE_SIZE;
  const controller: ActorRef<ControllerMsg> = { host: ctrlHost, path: CONTROLLER_PATH };
  const ports: ActorRef<Msg>[] = [...serverHosts.map((h) => ({ host: h, path: SERVER_PATH })), ...clientHosts.map((h) => ({ host: h, path: CLIENT_PATH }))];
  const sw = placeSwitch(t, tor, {
    program: netcacheProgram({ ...o.cache, threshold: o.controller?.threshold ?? o.cache?.threshold }),
    mode: o.switchMode ?? 'fused',
    ports,
    setup: {
      entries: [
        ...serverHosts.map((_, i) => ({ table: 'servers', match: [i], action: 'port', params: { port: i } })),
        ...clientHosts.map((_, j) => ({ table: 'clients', match: [j], action: 'port', params: { port: n + j } })),
      ],
    },
  });
  const items = o.populate ? homeItems(o.workload ?? SMALL_WORKLOAD, new Ring(n)) : undefined;
  const servers = serverHosts.map((h, i) => t.actor(h, SERVER_PATH, netcacheServer({ serverId: i, uplink: sw.ports[i]!, controller, costs: o.costs, items: items?.[i] })));
  const clients = clientHosts.map((h, j) => t.actor(h, CLIENT_PATH, netcacheClient({ ...loadConfig(o, j), servers: n, uplink: sw.ports[n + j]! })));
  t.actor(ctrlHost, CONTROLLER_PATH, netcacheController({
    control: sw.control as ActorRef<ControlRequest>, servers, ring: new Ring(n), cacheSize, preload: o.preload, maxValueBytes: o.cache?.maxValueBytes,
    epochMs: o.controller?.epochMs, retryMs: o.controller?.retryMs, parallel: o.controller?.parallel, evictSample: o.controller?.evictSample,
  }));
  return { topology: t, servers, clients: clients.slice(0, nc), cliClients: clients.slice(nc), controller, switchHost: tor };
}
