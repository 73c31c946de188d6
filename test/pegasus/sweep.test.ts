// The Pegasus sweep inside npm test: 200 seeds of the pegasus scenario, each with its own fault
// plan (drops, duplicates, reordering, a server crash and restart, a switch restart, rkey churn
// under writes), every history checked for linearizability, every 25th seed run twice to catch
// non-determinism; and a shorter sweep of each baseline. `npm run sweep:pegasus` runs 10,000.
// The scenario's transfer budget is small: the failovers and rejoins of its seeds go in parts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSweep } from '../../cli/commands/sweep.ts';
import { kvNetworkFaults, netcachePlan } from '../../cli/kv-scenarios.ts';
import { scenarios } from '../../cli/scenarios.ts';

interface PegasusDetails {
  readonly controller: { readonly failovers: number; readonly rejoins: number; readonly transferParts: number; readonly rackFailures: number } | null;
  readonly serverTransferParts: number;
}

describe('pegasus sweep', () => {
  it('passes 200 seeds of pegasus with random fault plans', () => {
    const r = runSweep('pegasus', scenarios.pegasus!, 1, 200, { ops: 90, recheckEvery: 25 });
    assert.deepEqual(r.failures, []);
    assert.equal(r.passed, 200);
  });

  it('sends the state of its failovers and rejoins in parts', () => {
    let failovers = 0;
    let rejoins = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = scenarios.pegasus!.run({ seed, ops: 90, faults: kvNetworkFaults(seed) });
      const d = r.details as unknown as PegasusDetails;
      const c = d.controller!;
      // (A failover in a rack that then left the chain may end before its transfer.)
      if (c.failovers > 0 && c.rackFailures === 0) {
        failovers++;
        assert.ok(d.serverTransferParts > 0, `seed ${seed}: ${c.failovers} failovers, no transfer in parts`);
      }
      if (c.rejoins > 0) {
        rejoins++;
        assert.ok(c.transferParts > 0, `seed ${seed}: ${c.rejoins} rejoins, no Install in parts`);
      }
    }
    assert.ok(failovers >= 5 && rejoins >= 5, `${failovers} seeds with failovers, ${rejoins} with rejoins`);
  });

  it('passes 300 seeds of netcache (half with a controller restart, half with a switch restart) and 40 of kv-hash under random network faults', () => {
    // The old NetCache controller, restarted, put keys in slots the table still mapped other
    // keys to: 87 of seeds 1..2000 were not linearizable.
    for (const [name, seeds] of [['netcache', 300], ['kv-hash', 40]] as const) {
      const r = runSweep(name, scenarios[name]!, 1, seeds, { ops: 90, recheckEvery: 20 });
      assert.deepEqual(r.failures, [], name);
    }
    for (const host of ['ctrl', 'tor']) {
      const restarts = Array.from({ length: 300 }, (_, i) => netcachePlan(i + 1)).filter((p) => p.some((e) => e.what === `restart ${host}`)).length;
      assert.ok(restarts > 100, `${restarts} of 300 netcache plans restart ${host}`);
    }
  });
});
