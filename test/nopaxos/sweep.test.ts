// The NOPaxos sweep of `npm test`: 200 seeds of `switchboard sweep nopaxos`, each with the fault plan and workload its seed draws (drops, duplicates, reordering, partitions, replica and leader crashes with recovery, sequencer failure and failover, session changes, controller crashes and restarts, pauses of a replica, the sequencer or the controller, bursts of lost protocol messages); every run must finish, keep the invariants, end with agreeing logs and a linearizable history, and replay to the same trace, and a failing seed's replay command must reproduce it. `npm run sweep:nopaxos` runs 10,000.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSweep } from '../../cli/commands/sweep.ts';
import { parseFaults } from '../../cli/options.ts';
import { scenarios, type Scenario, type SimReport } from '../../cli/scenarios.ts';
import { randomFaultPlan } from '../../apps/nopaxos/scenario.ts';

const SEEDS = 200;
const nopaxos = scenarios['nopaxos']!;

describe('NOPaxos sweep', () => {
  it(`${SEEDS} seeds with random fault plans`, () => {
    const failures: string[] = [];
    const totals = { viewChanges: 0, recoveries: 0, gapCommits: 0, stateTransfers: 0, truncations: 0, snapshotsInstalled: 0 };
    const events = new Set<string>();
    const replicaCounts = new Set<number>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const faults = nopaxos.randomFaults!(seed);
      const r = nopaxos.run({ seed, ops: undefined, faults });
      const d = r.details as Record<string, unknown> & typeof totals & { events: string[]; replicas: number };
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += d[k];
      for (const e of d.events) events.add(e.replace(/^[\d.]+ /, '').replace(/ r\d+| \(\d+\)| of \w+/g, '').replace(/^pause .*/, 'pause'));
      replicaCounts.add(d.replicas);
      if (r.violations.length > 0 || r.completed !== r.ops || r.linearizable !== true) {
        failures.push(`seed ${seed}: ${r.violations.join('; ')}\n  replay: switchboard sim nopaxos --seed ${seed}\n  ${d.events.join('\n  ')}`);
      } else if (seed % 20 === 0) {
        const again = nopaxos.run({ seed, ops: undefined, faults });
        if (again.traceHash !== r.traceHash) failures.push(`seed ${seed}: non-deterministic (${r.traceHash}, then ${again.traceHash})`);
      }
    }
    assert.deepEqual(failures, []);
    // The plans exercised what they are meant to.
    assert.ok(totals.viewChanges > 0 && totals.recoveries > 0 && totals.gapCommits > 0 && totals.stateTransfers > 0, JSON.stringify(totals));
    // The replicas truncated their logs (the scenario's tail is small) and some needed a snapshot.
    assert.ok(totals.truncations > 0 && totals.snapshotsInstalled > 0, JSON.stringify(totals));
    for (const kind of ['crash', 'restart', 'isolate', 'crash seq0', 'restart seq0', 'session change', 'failover', 'drop half', 'crash ctrl', 'restart ctrl', 'pause', 'cut the sequencers from', 'heal']) {
      assert.ok(events.has(kind), `no plan did '${kind}' (${[...events].join(', ')})`);
    }
    assert.deepEqual([...replicaCounts].sort(), [3, 5, 7]);
  });

  it('a failing seed\'s replay command reproduces the run', () => {
    // Goal: what `sweep` prints is enough to replay the seed exactly (plan, workload, network).
    let first: SimReport | undefined;
    const failing: Scenario = {
      ...nopaxos,
      run: (opts) => {
        first = nopaxos.run(opts);
        return { ...first, violations: ['made to fail'] };
      },
    };
    const sweep = runSweep('nopaxos', failing, 23, 23, { recheckEvery: 0 });
    const replay = sweep.failures[0]!.replay;
    const m = /^switchboard sim nopaxos --seed (\d+)(?: --faults (\S+))?$/.exec(replay);
    assert.ok(m, replay);
    const again = nopaxos.run({ seed: Number(m[1]), ops: undefined, faults: parseFaults(m[2] ?? '') });
    assert.equal(again.traceHash, first!.traceHash);
    assert.deepEqual(again.details['events'], first!.details['events']);
    // And without --faults: the network rates are the plan's own.
    assert.equal(nopaxos.run({ seed: 23, ops: undefined, faults: {} }).traceHash, first!.traceHash);
    assert.deepEqual(randomFaultPlan(23), randomFaultPlan(23));
  });

  it('--no-plan runs a clean group with only the faults given', () => {
    const clean = nopaxos.run({ seed: 4, ops: 60, faults: {}, plan: false });
    assert.deepEqual(clean.violations, []);
    assert.equal(clean.completed, 60);
    assert.deepEqual(clean.details['events'], []);
    assert.equal(clean.details['viewChanges'], 0);
    const lossy = nopaxos.run({ seed: 4, ops: 60, faults: { dropRate: 0.05 }, plan: false });
    assert.deepEqual(lossy.violations, []);
    assert.notEqual(lossy.traceHash, clean.traceHash);
  });
});
