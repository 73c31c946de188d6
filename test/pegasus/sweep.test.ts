// The Pegasus sweep inside npm test: 200 seeds of the pegasus scenario, each with its own fault
// plan (drops, duplicates, reordering, a server crash and restart, a switch restart, rkey churn
// under writes), every history checked for linearizability, every 25th seed run twice to catch
// non-determinism; and a shorter sweep of each baseline. `npm run sweep:pegasus` runs 10,000.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSweep } from '../../cli/commands/sweep.ts';
import { scenarios } from '../../cli/scenarios.ts';

describe('pegasus sweep', () => {
  it('passes 200 seeds of pegasus with random fault plans', () => {
    const r = runSweep('pegasus', scenarios.pegasus!, 1, 200, { ops: 90, recheckEvery: 25 });
    assert.deepEqual(r.failures, []);
    assert.equal(r.passed, 200);
  });

  it('passes 40 seeds each of netcache and kv-hash under random network faults', () => {
    for (const name of ['netcache', 'kv-hash']) {
      const r = runSweep(name, scenarios[name]!, 1, 40, { ops: 90, recheckEvery: 20 });
      assert.deepEqual(r.failures, [], name);
    }
  });
});
