// A small sweep: seeds, each with a random fault plan (drops, duplicates, reordering, partitions, replica and leader crashes with recovery, sequencer failure, session changes, bursts of lost protocol messages); every run must finish, keep the invariants, end with agreeing logs and a linearizable history, and replay to the same trace.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomFaultPlan, runNopaxosScenario } from '../../apps/nopaxos/scenario.ts';

const SEEDS = 60;

describe('NOPaxos sweep', () => {
  it(`${SEEDS} seeds with random fault plans`, () => {
    const failures: string[] = [];
    let viewChanges = 0;
    let recoveries = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runNopaxosScenario({ seed });
      viewChanges += r.stats.viewChanges;
      recoveries += r.stats.recoveries;
      if (r.violations.length > 0 || r.completed !== r.ops) failures.push(`seed ${seed}: ${r.violations.join('; ')}\n  ${r.applied.join('\n  ')}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(viewChanges > 0 && recoveries > 0, 'the plans exercised view changes and recoveries');
  });

  it('a seed replays to the same trace', () => {
    const a = runNopaxosScenario({ seed: 17 });
    const b = runNopaxosScenario({ seed: 17 });
    assert.equal(a.traceHash, b.traceHash);
    assert.deepEqual(a.applied, b.applied);
    assert.deepEqual(randomFaultPlan(17), randomFaultPlan(17));
  });
});
