// The Pegasus builder for distributed runs: racks chained for fault tolerance, each a top-of-rack
// switch host (tor<r>, the coherence directory in the switch model) with storage servers
// r<r>s<i>; clients c<j> attached to every rack's switch; the controller ctrl. Timeouts are
// those of real processes on a shared machine (the sim defaults assume microsecond links).
import { Type } from '@sinclair/typebox';
import { defineBuilder } from '../../actors/topology-file.ts';
import type { ActorRef, Msg, NodeRuntime } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { Controller } from '../../apps/pegasus/controller.ts';
import type { PegasusClientState } from '../../apps/pegasus/client.ts';
import type { PegasusServerState } from '../../apps/pegasus/server.ts';
import { pegasusTopology } from '../../apps/pegasus/topology.ts';
import { isIdle, type LoadInvoke } from '../../apps/workload/client.ts';
import { LoadStats } from '../../apps/workload/stats.ts';
import { until, whenState, withExtras } from './common.ts';

/** Latencies kept for the summary. */
const KEEP_LATENCIES = 200_000;

export const pegasus = defineBuilder({
  description: 'Pegasus: racks chained for fault tolerance, each a switch host tor<r> running the coherence directory and '
    + 'storage servers r<r>s<i>; workload clients c<j>; the controller ctrl',
  params: Type.Object({
    racks: Type.Integer({ minimum: 1, maximum: 4, default: 1, description: 'racks in the chain (2: a server\'s data survives it)' }),
    servers: Type.Integer({ minimum: 1, maximum: 32, default: 4, description: 'storage servers per rack' }),
    clients: Type.Integer({ minimum: 0, maximum: 32, default: 1, description: 'workload client hosts c0..' }),
    sessions: Type.Integer({ minimum: 1, maximum: 1024, default: 4, description: 'operations in flight per client (one per session)' }),
    ops: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 2000, description: 'operations per client (closed loop)' }),
    keys: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 16, description: 'keys k0.. of the workload' }),
    zipf: Type.Number({ minimum: 0, maximum: 2, default: 0.9, description: 'Zipf skew of the keys (0: uniform)' }),
    readRatio: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'fraction of reads' }),
    valueBytes: Type.Integer({ minimum: 1, maximum: 16_384, default: 32, description: 'value size' }),
    timeoutMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 100, description: 'a client resends an unanswered request this long after' }),
    probeMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 20, description: 'the controller probes servers and switches this often' }),
    failAfterMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 500, description: 'a server silent this long is failed over' }),
    rackFailAfterMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 2000, description: 'a switch silent this long takes its rack out of the chain' }),
    sampleEvery: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20, description: 'a server samples one request in this many for hot-key reports' }),
    reportMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 100, description: 'servers report hot keys this often' }),
    epochMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 200, description: 'the controller decides hot keys this often' }),
    history: Type.Boolean({ default: true, description: 'clients record their history (node --history-out, launch --check)' }),
    finalReads: Type.Boolean({ default: true, description: 'after its workload, a client reads every key' }),
  }, { additionalProperties: false }),
  build: (p) => {
    const history = p.history ? new KvHistory() : undefined;
    const stats = new LoadStats(0, Infinity, 1000, KEEP_LATENCIES);
    const t = pegasusTopology({
      racks: p.racks, servers: p.servers, clients: p.clients, sessions: p.sessions, opsPerClient: p.ops, timeoutMs: p.timeoutMs,
      workload: { keys: p.keys, zipf: p.zipf, readRatio: p.readRatio, valueSize: { kind: 'fixed', bytes: p.valueBytes } },
      stats, ...(history ? { history } : {}), sampleEvery: p.sampleEvery, reportMs: p.reportMs,
      controller: { probeMs: p.probeMs, failAfterMs: p.failAfterMs, rackFailAfterMs: p.rackFailAfterMs, retryMs: p.probeMs, epochMs: p.epochMs },
    });
    const clientOn = (host: string): ActorRef<Msg> | undefined => t.clients.find((c) => c.host === host) as ActorRef<Msg> | undefined;
    const servers = t.servers.flat() as readonly ActorRef<Msg>[];
    return withExtras({
      topology: t.topology,
      watch(node) {
        const ref = clientOn(node.hostName);
        if (!ref) return undefined;
        return whenState<PegasusClientState>(node, ref, (s) => s.load.stopped && isIdle(s.load), async (s) => {
          const elapsedMs = node.now() - s.load.startedAtMs;
          const summary = {
            completed: s.load.completed, retries: s.load.retries, elapsedMs: Math.round(elapsedMs),
            opsPerSec: Math.round((s.load.completed / Math.max(elapsedMs, 1)) * 1000), latencyMs: latencyOf(stats),
          };
          if (!p.finalReads) return summary;
          for (let k = 0; k < p.keys; k++) {
            const before = s.load.completed;
            node.send(ref as ActorRef<LoadInvoke>, { type: 'LoadInvoke', op: { op: 'get', key: `k${k}` } });
            await until(() => s.load.completed > before && isIdle(s.load), 60_000, `final read of k${k}`);
          }
          return { ...summary, finalReads: p.keys };
        });
      },
      status(node: NodeRuntime): Record<string, number> {
        const c = clientOn(node.hostName);
        if (c) {
          const s = node.stateOf<PegasusClientState>(c);
          return s ? { completed: s.load.completed, retries: s.load.retries } : {};
        }
        const srv = servers.find((r) => r.host === node.hostName);
        if (srv) {
          const s = node.stateOf<PegasusServerState>(srv);
          return s ? { served: s.requests, recovering: s.recovering ? 1 : 0, retired: s.retired ? 1 : 0 } : {};
        }
        if (node.hostName === t.controller.host) {
          const s = node.stateOf<Controller>(t.controller);
          return s ? { failovers: s.stats.failovers, rackFailures: s.stats.rackFailures, rkeysAdded: s.stats.adds } : {};
        }
        return {};
      },
    }, history ? { history } : {});
  },
});

/** The latency summary in the shape the other builders give. */
function latencyOf(stats: LoadStats): Record<string, number> {
  const l = stats.latency();
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return l.count ? { p50: r(l.p50Ms), p99: r(l.p99Ms), mean: r(l.meanMs), max: r(l.maxMs) } : {};
}
