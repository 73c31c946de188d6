// The controller's hot-key detection from the servers' sampled reports: under a skewed
// workload the hottest keys become rkeys, each pushed to every server; under a uniform one,
// where every key is sampled a few times by chance, none does; and the set of rkeys settles
// instead of being replaced by sampling noise every epoch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
});
