// A Pegasus deployment: `racks` racks chained for fault tolerance (one rack: no chain), each
// with a top-of-rack switch (host tor<r>) running the coherence directory and `servers`
// storage servers (hosts r<r>s<i>), clients (hosts c<j>) attached to every rack's switch, and
// one controller (host ctrl). Switch ports: servers 0..n-1, then clients, then one port per
// rack (to that rack's switch: forwarded writes travel rack to rack).
import { Topology, type ActorRef, type Msg, type Runtime } from '../../actors/index.ts';
import { addSwitchSchemas, placeSwitch, portPath, type ControlRequest, type SwitchRefs } from '../../switch-model/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import { Ring } from '../kv-hash/ring.ts';
import { clientHostNames, clientRole, DEFAULT_LINK, homeItems, loadConfig, SMALL_WORKLOAD, type KvRackOptions } from '../kv-hash/topology.ts';
import { pegasusClient } from './client.ts';
import { pegasusController, type ControllerConfig } from './controller.ts';
import type { PegasusInvariants } from './invariants.ts';
import { pegasusSchemas, type ClientMsg, type ControllerMsg, type ServerMsg } from './messages.ts';
import { pegasusServer } from './server.ts';
import { DEFAULT_CAPACITY, pegasusDirectory, pushGroups, type ReadPolicy } from './switch-program.ts';

export const SERVER_PATH = 'pegasus/server';
export const CLIENT_PATH = 'pegasus/client';
export const CONTROLLER_PATH = 'pegasus/controller';

export interface PegasusOptions extends KvRackOptions {
  /** Racks in the chain. Default 1. */
  readonly racks?: number;
  /** Rkeys per directory. Default 64. */
  readonly capacity?: number;
  readonly readPolicy?: ReadPolicy;
  readonly incoherent?: boolean;
  readonly invariants?: PegasusInvariants;
  /** Server sampling and reporting for hot keys. */
  readonly sampleEvery?: number;
  readonly reportMs?: number;
  readonly reportTop?: number;
  readonly controller?: Partial<Pick<ControllerConfig,
    'autoRkeys' | 'defaultRf' | 'probeMs' | 'failAfterMs' | 'leaseMs' | 'rackFailAfterMs' | 'retryMs' | 'epochMs' | 'maxChurn' | 'rfScale' | 'minRf' | 'pushBudget'>>;
  /** Links between the racks' switches. */
  readonly fabricLink?: LinkOptions;
  /**
   * Estimated bytes of items and entries per message of a failover's or rejoin's state transfer
   * (transfer.ts; default DEFAULT_TRANSFER_BYTES): keep a message within a UDP datagram.
   */
  readonly transferBytes?: number;
}

export interface PegasusTopology {
  readonly topology: Topology;
  readonly racks: number;
  readonly servers: readonly (readonly ActorRef<ServerMsg>[])[];
  readonly serverHosts: readonly (readonly string[])[];
  readonly switchHosts: readonly string[];
  readonly switches: readonly SwitchRefs[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  /** Clients with no workload (KvRackOptions.cliClients). */
  readonly cliClients: readonly ActorRef<ClientMsg>[];
  readonly controller: ActorRef<ControllerMsg>;
  readonly ring: Ring;
  addRkeys(rt: Runtime, keys: readonly string[]): void;
  removeRkeys(rt: Runtime, keys: readonly string[]): void;
}

export function pegasusTopology(o: PegasusOptions = {}): PegasusTopology {
  const R = o.racks ?? 1;
  const n = o.servers ?? 4;
  const nc = o.clients ?? 1;
  const t = new Topology('pegasus').messages(pegasusSchemas);
  addSwitchSchemas(t);
  const link = o.link ?? DEFAULT_LINK;
  const ring = new Ring(n);
  const switchHosts = Array.from({ length: R }, (_, r) => t.host(`tor${r}`, { role: 'switch' }));
  const serverHosts = Array.from({ length: R }, (_, r) => Array.from({ length: n }, (_, i) => t.host(`r${r}s${i}`, { role: 'server' })));
  const clientHosts = clientHostNames(o).map((h) => t.host(h, { role: clientRole(h) }));
  const ctrlHost = t.host('ctrl', { role: 'controller' });
  for (let r = 0; r < R; r++) {
    for (const h of serverHosts[r]!) t.link(h, switchHosts[r]!, link);
    for (const h of clientHosts) t.link(h, switchHosts[r]!, link);
    for (let r2 = r + 1; r2 < R; r2++) t.link(switchHosts[r]!, switchHosts[r2]!, o.fabricLink ?? { latencyMs: 0.01, bandwidthMbps: 100_000 });
  }
  const rackPort = (r: number): number => n + clientHosts.length + r;
  const chain = Array.from({ length: R }, (_, r) => r);
  const controller: ActorRef<ControllerMsg> = { host: ctrlHost, path: CONTROLLER_PATH };
  const switches: SwitchRefs[] = [];
  for (let r = 0; r < R; r++) {
    const ports: ActorRef<Msg>[] = [
      ...serverHosts[r]!.map((h) => ({ host: h, path: SERVER_PATH })),
      ...clientHosts.map((h) => ({ host: h, path: CLIENT_PATH })),
      ...Array.from({ length: R }, (_, r2) => ({ host: switchHosts[r2]!, path: portPath('switch', rackPort(r)) })),
    ];
    switches.push(placeSwitch(t, switchHosts[r]!, {
      program: pegasusDirectory({ rack: r, servers: n, capacity: o.capacity ?? DEFAULT_CAPACITY, readPolicy: o.readPolicy, incoherent: o.incoherent }),
      mode: o.switchMode ?? 'fused',
      ports,
      setup: {
        entries: [
          ...Array.from({ length: n }, (_, i) => ({ table: 'servers', match: [i], action: 'forward', params: { port: i } })),
          ...Array.from({ length: n }, (_, i) => ({ table: 'senders', match: [i], action: 'live' })),
          ...clientHosts.map((_, j) => ({ table: 'clients', match: [j], action: 'forward', params: { port: n + j } })),
          ...Array.from({ length: R }, (_, r2) => ({ table: 'racks', match: [r2], action: 'forward', params: { port: rackPort(r2) } })),
        ],
        multicast: pushGroups(n),
      },
    }));
  }
  const items = o.populate ? homeItems(o.workload ?? SMALL_WORKLOAD, ring) : undefined;
  const servers = serverHosts.map((hosts, r) => hosts.map((h, i) => t.actor(h, SERVER_PATH, pegasusServer({
    rack: r, serverId: i, servers: n, uplink: switches[r]!.ports[i]!, controller, chain, costs: o.costs, items: items?.[i],
    sampleEvery: o.sampleEvery, reportMs: o.reportMs, reportTop: o.reportTop, transferBytes: o.transferBytes,
  }))));
  const clients = clientHosts.map((h, j) => t.actor(h, CLIENT_PATH, pegasusClient({
    ...loadConfig(o, j), servers: n, uplinks: switches.map((sw) => sw.ports[n + j]!), chain, controller, invariants: o.invariants,
  })));
  t.actor(ctrlHost, CONTROLLER_PATH, pegasusController({
    racks: R, servers: n, ring, serverRefs: servers, serverHosts, clients, switches: switches.map((s) => s.control as ActorRef<ControlRequest>),
    serverPort: (i) => i, capacity: o.capacity ?? DEFAULT_CAPACITY, transferBytes: o.transferBytes, ...o.controller,
  }));
  return {
    topology: t, racks: R, servers, serverHosts, switchHosts, switches, clients: clients.slice(0, nc), cliClients: clients.slice(nc), controller, ring,
    addRkeys: (rt, keys) => rt.send(controller, { type: 'AddRkeys', keys }),
    removeRkeys: (rt, keys) => rt.send(controller, { type: 'RemoveRkeys', keys }),
  };
}
