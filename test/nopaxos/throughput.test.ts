// The sim cost model makes the papers' bottlenecks appear: saturated with clients, a NOPaxos group handles as many requests per second as one unreplicated server (each replica handles 2 messages per request), while the Multi-Paxos leader, handling about 2n, manages about a quarter of that with 5 replicas; batching recovers most of it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim, type Topology } from '../../actors/index.ts';
import { nopaxosTopology } from '../../apps/nopaxos/topology.ts';
import { paxosTopology } from '../../apps/paxos/topology.ts';
import { unreplicatedTopology } from '../../apps/unreplicated/topology.ts';
import type { DriverState } from '../../apps/kv/driver.ts';

/** Completed operations per second of virtual time, after a warm-up. */
function throughput(t: { topology: Topology; clients: readonly { host: string; path: string }[] }): number {
  const rt = runSim(t.topology, { seed: 1, logLevel: 'silent', trace: false, network: { latencyMs: 0.01 } });
  const done = (): number => t.clients.reduce((n, c) => n + rt.stateOf<{ d: DriverState }>(c)!.d.completed, 0);
  rt.advance(10);
  const before = done();
  rt.advance(20);
  return (done() - before) / 0.02;
}

describe('throughput under the cost model', () => {
  it('NOPaxos matches unreplicated; Multi-Paxos is bounded by its leader', () => {
    // Goal: the ratios of the paper's figure 5 (NOPaxos within a few % of unreplicated, about 4x Multi-Paxos with 5 replicas) come out of the cost model.
    const clients = 48;
    const u = throughput(unreplicatedTopology({ clients, opsPerClient: 1e6 }));
    const np = throughput(nopaxosTopology({ clients, opsPerClient: 1e6 }));
    const p = throughput(paxosTopology({ clients, opsPerClient: 1e6 }));
    const pb = throughput(paxosTopology({ clients, opsPerClient: 1e6, batchSize: 64 }));
    assert.ok(np / u >= 0.95, `NOPaxos/unreplicated = ${(np / u).toFixed(3)}`);
    assert.ok(np / p >= 3.5, `NOPaxos/Multi-Paxos = ${(np / p).toFixed(2)}`);
    assert.ok(pb > 2 * p, `batching: ${pb} vs ${p} ops/s`);
  });
});
