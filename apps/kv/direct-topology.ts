// The client side of a topology whose clients talk straight to one server (Multi-Paxos's leader,
// the unreplicated server): client hosts c0, c1, ... with a workload, and hosts k0, k1, ...
// (role 'cli') with none, for operations run from outside (`switchboard kv`).
import type { ActorRef, Topology } from '../../actors/index.ts';
import type { HistorySink } from '../history/history.ts';
import { directClient, type DirectClientMsg, type Request } from './direct-client.ts';
import type { WorkloadOptions } from './workload.ts';

export interface DirectClientsOptions {
  readonly clients?: number;
  readonly opsPerClient?: number;
  /** Extra client hosts k0, k1, ... (role 'cli') with no workload, for operations run from outside (`switchboard kv`). */
  readonly cliClients?: number;
  readonly workload?: WorkloadOptions;
  readonly thinkMs?: number;
  /** Client i starts i × this many ms after the others, so they do not all start at once. */
  readonly clientStartMs?: number;
  readonly history?: HistorySink;
  readonly requestTimeoutMs?: number;
}

export interface DirectClients {
  readonly clients: readonly ActorRef<DirectClientMsg>[];
  readonly cliClients: readonly ActorRef<DirectClientMsg>[];
  readonly hosts: { readonly clients: readonly string[]; readonly cliClients: readonly string[] };
}

/** Add the clients of `server` to `t`, each actor at `path` on its own host. */
export function addDirectClients(t: Topology, path: string, server: ActorRef<Request>, opts: DirectClientsOptions): DirectClients {
  const timeout = opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {};
  const clientHosts = Array.from({ length: opts.clients ?? 1 }, (_, i) => t.host(`c${i}`, { role: 'client' }));
  const clients = clientHosts.map((h, i) => t.actor(h, path, directClient({
    server, ops: opts.opsPerClient ?? 0, startDelayMs: (opts.clientStartMs ?? 0) * i,
    ...(opts.workload ? { workload: opts.workload } : {}),
    ...(opts.history ? { history: opts.history } : {}),
    ...(opts.thinkMs ? { thinkMs: opts.thinkMs } : {}),
    ...timeout,
  })));
  const cliHosts = Array.from({ length: opts.cliClients ?? 0 }, (_, i) => t.host(`k${i}`, { role: 'cli' }));
  const cliClients = cliHosts.map((h) => t.actor(h, path, directClient({ server, ops: 0, ...timeout })));
  return { clients, cliClients, hosts: { clients: clientHosts, cliClients: cliHosts } };
}
