// The rack builders for distributed runs (Pegasus, and its baselines kv-hash and NetCache). Pegasus: racks chained for fault tolerance, each a top-of-rack
// switch host (tor<r>, the coherence directory in the switch model) with storage servers
// r<r>s<i>; clients c<j> attached to every rack's switch; the controller ctrl. Timeouts are
// those of real processes on a shared machine (the sim defaults assume microsecond links).
import { Type, type Static } from '@sinclair/typebox';
import { defineBuilder, type BuiltTopology } from '../../actors/topology-file.ts';
import type { ActorRef, Address, Msg, NodeRuntime } from '../../actors/index.ts';
import type { KvHashServerState } from '../../apps/kv-hash/server.ts';
import { kvHashTopology, type KvRackOptions } from '../../apps/kv-hash/topology.ts';
import type { NetCacheServerState } from '../../apps/netcache/server.ts';
import { netcacheTopology } from '../../apps/netcache/topology.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { Controller } from '../../apps/pegasus/controller.ts';
import type { PegasusClientState } from '../../apps/pegasus/client.ts';
import type { PegasusServerState } from '../../apps/pegasus/server.ts';
import { pegasusTopology } from '../../apps/pegasus/topology.ts';
import { DEFAULT_TRANSFER_BYTES } from '../../apps/pegasus/transfer.ts';
import { isIdle, type LoadInvoke, type LoadState } from '../../apps/workload/client.ts';
import { LoadStats } from '../../apps/workload/stats.ts';
import { until, whenState, withExtras, type CliAccess } from './common.ts';
import type { KvResult } from '../../apps/kv/kv.ts';

/** Latencies kept for the summary. */
const KEEP_LATENCIES = 200_000;

/** Parameters of every rack builder here (the load clients of apps/workload). */
const loadParams = {
  clients: Type.Integer({ minimum: 0, maximum: 32, default: 1, description: 'workload client hosts c0..' }),
  cliClients: Type.Integer({ minimum: 0, maximum: 16, default: 1, description: 'hosts k0.. kept for `switchboard kv` (not started by launch)' }),
  sessions: Type.Integer({ minimum: 1, maximum: 1024, default: 4, description: 'operations in flight per client (one per session)' }),
  ops: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 2000, description: 'operations per client (closed loop)' }),
  keys: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 16, description: 'keys k0.. of the workload' }),
  zipf: Type.Number({ minimum: 0, maximum: 2, default: 0.9, description: 'Zipf skew of the keys (0: uniform)' }),
  readRatio: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'fraction of reads' }),
  valueBytes: Type.Integer({ minimum: 1, maximum: 16_384, default: 32, description: 'value size' }),
  timeoutMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 100, description: 'a client resends an unanswered request this long after' }),
  history: Type.Boolean({ default: true, description: 'clients record their history (node --history-out, launch --check)' }),
  finalReads: Type.Boolean({ default: true, description: 'after its workload, a client reads every key' }),
};
const _loadParamsSchema = Type.Object(loadParams);
type LoadParams = Static<typeof _loadParamsSchema>;

/** The KvRackOptions of the load parameters. */
function rackLoad(p: LoadParams, history: KvHistory | undefined, stats: LoadStats): KvRackOptions {
  return {
    clients: p.clients, cliClients: p.cliClients, sessions: p.sessions, opsPerClient: p.ops, timeoutMs: p.timeoutMs,
    workload: { keys: p.keys, zipf: p.zipf, readRatio: p.readRatio, valueSize: { kind: 'fixed', bytes: p.valueBytes } },
    stats, ...(history ? { history } : {}),
  };
}

/** watch and status for load clients (`loadOf` finds the LoadState in a client's state). */
function loadBuilt<CS>(p: LoadParams, topology: BuiltTopology['topology'], clients: readonly Address[], stats: LoadStats,
  loadOf: (s: CS) => LoadState, serverStatus: (node: NodeRuntime) => Record<string, number>): Pick<BuiltTopology, 'topology' | 'watch' | 'status'> {
  const clientOn = (host: string): ActorRef<Msg> | undefined => clients.find((c) => c.host === host) as ActorRef<Msg> | undefined;
  return {
    topology,
    watch(node) {
      const ref = clientOn(node.hostName);
      if (!ref) return undefined;
      return whenState<CS>(node, ref, (cs) => loadOf(cs).stopped && isIdle(loadOf(cs)), async (cs) => {
        const load = loadOf(cs);
        const elapsedMs = node.now() - load.startedAtMs;
        const summary = {
          completed: load.completed, retries: load.retries, elapsedMs: Math.round(elapsedMs),
          opsPerSec: Math.round((load.completed / Math.max(elapsedMs, 1)) * 1000), latencyMs: latencyOf(stats),
        };
        if (!p.finalReads) return summary;
        for (let k = 0; k < p.keys; k++) {
          const before = load.completed;
          node.send(ref as ActorRef<LoadInvoke>, { type: 'LoadInvoke', op: { op: 'get', key: `k${k}` } });
          await until(() => load.completed > before && isIdle(load), 60_000, `final read of k${k}`);
        }
        return { ...summary, finalReads: p.keys };
      });
    },
    status(node: NodeRuntime): Record<string, number> {
      const c = clientOn(node.hostName);
      if (c) {
        const s = node.stateOf<CS>(c);
        return s ? { completed: loadOf(s).completed, retries: loadOf(s).retries } : {};
      }
      return serverStatus(node);
    },
  };
}

export const pegasus = defineBuilder({
  description: 'Pegasus: racks chained for fault tolerance, each a switch host tor<r> running the coherence directory and '
    + 'storage servers r<r>s<i>; workload clients c<j>; the controller ctrl',
  params: Type.Object({
    racks: Type.Integer({ minimum: 1, maximum: 4, default: 1, description: 'racks in the chain (2: a server\'s data survives it)' }),
    servers: Type.Integer({ minimum: 1, maximum: 32, default: 4, description: 'storage servers per rack' }),
    ...loadParams,
    probeMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 20, description: 'the controller probes servers and switches this often' }),
    failAfterMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 500, description: 'a server silent this long is failed over' }),
    rackFailAfterMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 2000, description: 'a switch silent this long takes its rack out of the chain' }),
    sampleEvery: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20, description: 'a server samples one request in this many for hot-key reports' }),
    reportMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 100, description: 'servers report hot keys this often' }),
    epochMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 200, description: 'the controller decides hot keys this often' }),
    transferBytes: Type.Integer({
      minimum: 512, maximum: 1_000_000, default: DEFAULT_TRANSFER_BYTES,
      description: 'estimated bytes of keys, values and client-table entries per message of a failover or rejoin transfer; UDP with 1472-byte datagrams: 1000',
    }),
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const stats = new LoadStats(0, Infinity, 1000, KEEP_LATENCIES);
    const t = pegasusTopology({
      ...rackLoad(p, history, stats), racks: p.racks, servers: p.servers, sampleEvery: p.sampleEvery, reportMs: p.reportMs, transferBytes: p.transferBytes,
      controller: { probeMs: p.probeMs, failAfterMs: p.failAfterMs, rackFailAfterMs: p.rackFailAfterMs, retryMs: p.probeMs, epochMs: p.epochMs },
    });
    const servers = t.servers.flat() as readonly Address[];
    return withExtras(loadBuilt<PegasusClientState>(p, t.topology, t.clients, stats, (s) => s.load, (node): Record<string, number> => {
      const srv = servers.find((r) => r.host === node.hostName);
      if (srv) {
        const s = node.stateOf<PegasusServerState>(srv);
        return s ? {
          served: s.requests, recovering: s.recovering ? 1 : 0, retired: s.retired ? 1 : 0, joining: s.joining ? 1 : 0, transferParts: s.transferParts,
          emptyReads: s.emptyReads, inc: s.inc,
        } : {};
      }
      if (node.hostName === t.controller.host) {
        const s = node.stateOf<Controller>(t.controller);
        return s ? {
          failovers: s.stats.failovers, rackFailures: s.stats.rackFailures, rackJoins: s.stats.rackJoins, chainRacks: s.chain.length, rkeysAdded: s.stats.adds,
          rejoins: s.stats.rejoins, rejoinAborts: s.stats.rejoinAborts, transferParts: s.stats.transferParts,
        } : {};
      }
      return {};
    }), { ...(history ? { history } : {}), cli: loadCli<PegasusClientState>('pegasus', t.cliClients, (s) => s.load) });
  },
});

export const kvHash = defineBuilder({
  description: 'the consistent-hashing baseline: storage servers s0.. and clients c0.. on one switch host running plain forwarding',
  params: Type.Object({
    servers: Type.Integer({ minimum: 1, maximum: 32, default: 4, description: 'storage servers' }),
    ...loadParams,
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const stats = new LoadStats(0, Infinity, 1000, KEEP_LATENCIES);
    const t = kvHashTopology({ ...rackLoad(p, history, stats), servers: p.servers });
    return withExtras(loadBuilt<LoadState>(p, t.topology, t.clients, stats, (s) => s, (node): Record<string, number> => {
      const srv = t.servers.find((r) => r.host === node.hostName);
      const s = srv ? node.stateOf<KvHashServerState>(srv) : undefined;
      return s ? { served: s.requests } : {};
    }), { ...(history ? { history } : {}), cli: loadCli<LoadState>('kv-hash', t.cliClients, (s) => s) });
  },
});

export const netcache = defineBuilder({
  description: 'NetCache: storage servers s0.. and clients c0.. on a switch host tor that caches hot values in its pipeline; '
    + 'the controller ctrl fills and evicts the cache',
  params: Type.Object({
    servers: Type.Integer({ minimum: 1, maximum: 32, default: 4, description: 'storage servers' }),
    ...loadParams,
    epochMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 200, description: 'the controller updates the cache this often' }),
    retryMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 50, description: 'the controller resends an unanswered step this long after' }),
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const stats = new LoadStats(0, Infinity, 1000, KEEP_LATENCIES);
    const t = netcacheTopology({ ...rackLoad(p, history, stats), servers: p.servers, controller: { epochMs: p.epochMs, retryMs: p.retryMs } });
    return withExtras(loadBuilt<LoadState>(p, t.topology, t.clients, stats, (s) => s, (node): Record<string, number> => {
      const srv = t.servers.find((r) => r.host === node.hostName);
      const s = srv ? node.stateOf<NetCacheServerState>(srv) : undefined;
      return s ? { served: s.requests } : {};
    }), { ...(history ? { history } : {}), cli: loadCli<LoadState>('netcache', t.cliClients, (s) => s) });
  },
});

/**
 * How `switchboard kv` runs one operation on a cli client host: LoadInvoke to its load client,
 * then wait for it to complete. The load clients speak get and put (as Pegasus, NetCache and
 * the hashing baseline do); a put of '' would be taken for "make a unique value" (the kv
 * command refuses both before it joins).
 */
function loadCli<CS>(builder: string, cliClients: readonly Address[], loadOf: (s: CS) => LoadState): CliAccess {
  return {
    hosts: cliClients.map((r) => r.host),
    ops: ['get', 'put'],
    async invoke(node, op, timeoutMs) {
      const ref = cliClients.find((r) => r.host === node.hostName) as ActorRef<LoadInvoke> | undefined;
      if (!ref) throw new Error(`host '${node.hostName}' is not a cli client host`);
      if ((op.op !== 'get' && op.op !== 'put') || (op.op === 'put' && op.value === '')) throw new Error(`${builder}: only get and put of a non-empty value`);
      const t0 = performance.now();
      await until(() => node.stateOf<CS>(ref) !== undefined, timeoutMs, 'the client actor');
      const load = loadOf(node.stateOf<CS>(ref)!);
      const before = load.completed;
      node.send(ref, { type: 'LoadInvoke', op });
      await until(() => load.completed > before && isIdle(load), Math.max(1, timeoutMs - (performance.now() - t0)), 'the reply');
      const result: KvResult = op.op === 'get' ? { value: load.lastValue.get(op.key) ?? '' } : {};
      return { result, latencyMs: performance.now() - t0 };
    },
  };
}

/** The latency summary in the shape the other builders give. */
function latencyOf(stats: LoadStats): Record<string, number> {
  const l = stats.latency();
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return l.count ? { p50: r(l.p50Ms), p99: r(l.p99Ms), mean: r(l.meanMs), max: r(l.maxMs) } : {};
}
