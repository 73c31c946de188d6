// The consistent-hashing baseline in one rack: servers s0..s{n-1} on switch ports 0..n-1,
// clients c0.. on the ports after them, all on one top-of-rack switch running plain forwarding.
import { Topology, type ActorRef, type Msg } from '../../actors/index.ts';
import { rack, type SwitchMode } from '../../switch-model/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import type { HistorySink } from '../history/history.ts';
import type { LoadConfig } from '../workload/client.ts';
import type { LoadStats } from '../workload/stats.ts';
import { keyName, valueBytesOf, type WorkloadSpec } from '../workload/workload.ts';
import { kvHashClient } from './client.ts';
import { Ring } from './ring.ts';
import { kvHashSchemas, type KvHashClientMsg, type KvHashRequest } from './messages.ts';
import { kvHashServer } from './server.ts';
import type { StorageCosts } from './store.ts';
import { kvForwarding } from './switch-program.ts';

export const SERVER_PATH = 'kv/server';
export const CLIENT_PATH = 'kv/client';

/** What every kv rack topology here (kv-hash, NetCache, Pegasus) is built from. */
export interface KvRackOptions {
  readonly servers?: number;
  readonly clients?: number;
  /**
   * Client hosts k0.. (role 'cli') after the clients, with no workload: for operations run from
   * outside (LoadInvoke; `switchboard kv`). Their client ids follow the clients'.
   */
  readonly cliClients?: number;
  /** Per client. */
  readonly sessions?: number;
  readonly mode?: 'closed' | 'open';
  /** Open loop: arrivals per ms, per client. */
  readonly ratePerMs?: number;
  /** Operations per client. */
  readonly opsPerClient?: number;
  readonly durationMs?: number;
  readonly startDelayMs?: number;
  readonly workload?: WorkloadSpec;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly history?: HistorySink;
  readonly stats?: LoadStats;
  readonly costs?: StorageCosts;
  /** Host-switch links in sim. */
  readonly link?: LinkOptions;
  readonly switchMode?: SwitchMode;
  /**
   * Every key of the workload starts stored at its home server with a value of its size
   * (version 0), as the paper's experiments load the store before measuring. Without it a read
   * of a key never written answers no value, and value sizes change only what writes cost.
   */
  readonly populate?: boolean;
}

/** A rack: 5 us to the switch, 10 Gb/s per host. */
export const DEFAULT_LINK: LinkOptions = { latencyMs: 0.005, bandwidthMbps: 10_000 };

export const SMALL_WORKLOAD: WorkloadSpec = { keys: 8, zipf: 0.9, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } };

/** (key, value bytes) of every key of the workload, by home server (server i: homeItems[i]). */
export function homeItems(workload: WorkloadSpec, ring: Ring): (readonly [string, number])[][] {
  const out: (readonly [string, number])[][] = Array.from({ length: ring.servers }, () => []);
  for (let k = 0; k < workload.keys; k++) {
    const key = keyName(k);
    out[ring.homeOf(key)]!.push([key, valueBytesOf(workload.valueSize, k)]);
  }
  return out;
}

/** The hosts of the clients: c0.. with the workload, then the cli clients k0... */
export function clientHostNames(o: KvRackOptions): string[] {
  return [...Array.from({ length: o.clients ?? 1 }, (_, j) => `c${j}`), ...Array.from({ length: o.cliClients ?? 0 }, (_, k) => `k${k}`)];
}

/** The role of a client host of clientHostNames. */
export function clientRole(host: string): string {
  return host.startsWith('k') ? 'cli' : 'client';
}

/** A client's load configuration; a cli client (clientId >= clients) runs no workload. */
export function loadConfig(o: KvRackOptions, clientId: number): LoadConfig {
  const cli = clientId >= (o.clients ?? 1);
  return {
    clientId, sessions: cli ? 1 : o.sessions ?? 1, mode: cli ? 'closed' : o.mode ?? 'closed', ratePerMs: o.ratePerMs,
    ops: cli ? 0 : o.opsPerClient, durationMs: o.durationMs,
    startDelayMs: o.startDelayMs, workload: o.workload ?? SMALL_WORKLOAD, timeoutMs: o.timeoutMs, maxAttempts: o.maxAttempts,
    history: cli ? undefined : o.history, stats: cli ? undefined : o.stats,
  };
}

export interface KvHashTopology {
  readonly topology: Topology;
  readonly servers: readonly ActorRef<KvHashRequest>[];
  readonly clients: readonly ActorRef<KvHashClientMsg>[];
  readonly cliClients: readonly ActorRef<KvHashClientMsg>[];
}

export function kvHashTopology(o: KvRackOptions = {}): KvHashTopology {
  const n = o.servers ?? 4;
  const nc = o.clients ?? 1;
  const t = new Topology('kv-hash').messages(kvHashSchemas);
  const serverHosts = Array.from({ length: n }, (_, i) => `s${i}`);
  const clientHosts = clientHostNames(o);
  const r = rack({
    topology: t, hosts: [...serverHosts, ...clientHosts], program: kvForwarding(), mode: o.switchMode ?? 'fused', link: o.link ?? DEFAULT_LINK,
    role: (h) => (h.startsWith('k') ? 'cli' : 'host'),
    peer: (host, port) => ({ host, path: port < n ? SERVER_PATH : CLIENT_PATH }),
    setup: (hosts) => ({
      entries: hosts.map((h) => (h.port < n
        ? { table: 'servers', match: [h.port], action: 'forward', params: { port: h.port } }
        : { table: 'clients', match: [h.port - n], action: 'forward', params: { port: h.port } })),
    }),
  });
  const items = o.populate ? homeItems(o.workload ?? SMALL_WORKLOAD, new Ring(n)) : undefined;
  const servers = serverHosts.map((h, i) => t.actor(h, SERVER_PATH, kvHashServer({
    serverId: i, uplink: r.host(h).ingress as ActorRef<Msg>, costs: o.costs, items: items?.[i],
  })));
  const clients = clientHosts.map((h, i) => t.actor(h, CLIENT_PATH, kvHashClient({
    ...loadConfig(o, i), servers: n, uplink: r.host(h).ingress as ActorRef<Msg>,
  })));
  return { topology: t, servers, clients: clients.slice(0, nc), cliClients: clients.slice(nc) };
}
