// The unreplicated sweep: seeds of `switchboard sweep unreplicated`, each with its seed's fault plan (drops, duplicates, reordering, the server or a client partitioned for a while, bursts of lost requests or replies) and workload; every run must finish with a linearizable history (retries answered from the client table, never executed twice) and replay to the same trace.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSweep } from '../../cli/commands/sweep.ts';
import { scenarios } from '../../cli/scenarios.ts';

describe('unreplicated sweep', () => {
  it('100 seeds with random fault plans', () => {
    const r = runSweep('unreplicated', scenarios['unreplicated']!, 1, 100, { recheckEvery: 20 });
    assert.deepEqual(r.failures, []);
  });

  it('retries under loss are answered from the client table', () => {
    const r = scenarios['unreplicated']!.run({ seed: 9, ops: 200, faults: { dropRate: 0.2 }, plan: false });
    assert.deepEqual(r.violations, []);
    assert.equal(r.linearizable, true);
    assert.ok((r.details['retries'] as number) > 0 && (r.details['duplicates'] as number) > 0, JSON.stringify(r.details));
  });
});
