// The controller's hot-key detection from the servers' sampled reports: under a skewed
// workload the hottest keys become rkeys, each pushed to every server; under a uniform one,
// where every key is sampled a few times by chance, none does; and the set of rkeys settles
// instead of being replaced by sampling noise every epoch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, replicationFactor } from '../../apps/pegasus/controller.ts';
import { Workload, keyName, type WorkloadSpec } from '../../apps/workload/workload.ts';
import { world } from './helpers.ts';

function skewed(zipf: number): { w: ReturnType<typeof world>; spec: WorkloadSpec } {
  const spec: WorkloadSpec = { keys: 5000, zipf, readRatio: 1, valueSize: { kind: 'fixed', bytes: 32 } };
  const w = world({
    servers: 8, clients: 2, sessions: 64, mode: 'open', ratePerMs: 150, workload: spec, populate: true, timeoutMs: 50, maxAttempts: 1,
    capacity: 16, sampleEvery: 1, reportMs: 1, reportTop: 64, startDelayMs: 0.01,
    controller: { autoRkeys: true, epochMs: 2, maxChurn: 16, probeMs: 5, failAfterMs: 1000, rackFailAfterMs: 10_000 },
  });
  return { w, spec };
}

describe('pegasus controller', () => {
  it('makes the hottest keys rkeys, each replicated on every server, and then keeps them', () => {
    const { w, spec } = skewed(1.1);
    w.sim.advance(20);
    const c = w.controller();
    const top = Array.from({ length: 5 }, (_, r) => keyName(new Workload(spec).keyOfRank(r + 1)));
    for (const k of top) {
      assert.ok(c.rkeys.has(k), `${k} is an rkey`);
      assert.equal(w.rset(0, k).length, 8, `${k} is on every server (only read: replication comes from the add)`);
    }
    const adds = c.stats.adds;
    w.sim.advance(10);
    assert.ok(c.stats.adds - adds <= 2, `the rkeys settled (${c.stats.adds - adds} adds in the last 10 ms)`);
  });

  it('adds no rkeys under a uniform workload (sampled a few times by chance is not hot)', () => {
    const { w } = skewed(0);
    w.sim.advance(20);
    assert.equal(w.controller().stats.adds, 0);
  });

  it('gives an rkey the replicas its reads need, a few more while their pushes are cheap, and no more', () => {
    const rf = (reads: number, writes: number, total = 10_000): number =>
      replicationFactor({ reads, writes, total, servers: 32, rfScale: DEFAULTS.rfScale, minRf: DEFAULTS.minRf, pushBudget: DEFAULTS.pushBudget });
    // The hottest key at Zipf 1.2 (a fifth of all requests): as many as its reads need.
    assert.equal(rf(1900, 100), Math.ceil((2 * 32 * 1900) / 10_000));
    // A warm read-mostly rkey (5% writes): minRf, so that its reads have a choice of servers.
    assert.equal(rf(19, 1), DEFAULTS.minRf);
    // Read-only: minRf too (nothing to push).
    assert.equal(rf(20, 0), DEFAULTS.minRf);
    // Written as often as read: one, since every extra replica would cost a push per write.
    assert.equal(rf(10, 10), 1);
    // 10% writes: (rf - 1) x 1 <= 0.2 x 10 allows 3.
    assert.equal(rf(9, 1), 3);
    // Never more than the servers.
    assert.equal(rf(10_000, 0), 32);
  });
});
