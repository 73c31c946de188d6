// `sim --shrink` and `sim --events`: a failing run cut down to the fewest plan-event groups and
// network faults that still make it fail, and a run of a chosen subset of a seed's plan.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shrink } from '../../cli/shrink.ts';
import { runSweep, shrinkFailures, SHRINK_AT_MOST } from '../../cli/commands/sweep.ts';
import { formatShrunk } from '../../cli/commands/sim.ts';
import { scenarios, type PlanEvent, type Scenario, type SimReport } from '../../cli/scenarios.ts';

function report(seed: number, violations: string[]): SimReport {
  return { scenario: 'fake', seed, ops: 1, completed: 1, linearizable: true, violations, traceHash: 'h', virtualMs: 0, wallMs: 0, details: {} };
}

// Eight events in six groups (a crash goes with its restart: a = 0 and 4, c = 2 and 6).
const PLAN: PlanEvent[] = ['a', 'b', 'c', 'd', 'a', 'e', 'c', 'f'].map((group, i) => ({ what: `event ${i}`, group }));

/** Fails when groups c and e both happen, and packets are dropped. */
const fake: Scenario = {
  description: 'fails with c, e and drops', defaultOps: 1,
  randomFaults: () => ({ dropRate: 0.1, duplicateRate: 0.05, jitterMs: 0.3 }),
  planEvents: () => PLAN,
  run: ({ seed, events, faults }) => {
    const kept = new Set((events ?? PLAN.map((_, i) => i)).map((i) => PLAN[i]!.group));
    const drops = faults.dropRate ?? 0.1;
    return report(seed, kept.has('c') && kept.has('e') && drops > 0 ? ['lost a write'] : []);
  },
};

describe('sim --shrink', () => {
  it('keeps only the groups of events and the network faults the failure needs', () => {
    const r = shrink('fake', fake, { seed: 9, ops: undefined, faults: {} })!;
    assert.deepEqual(r.events, [2, 5, 6]);
    assert.equal(r.of, 8);
    assert.deepEqual(r.faults, { dropRate: 0.1, duplicateRate: 0, jitterMs: 0 });
    assert.deepEqual(r.report.violations, ['lost a write']);
    assert.equal(r.replay, 'switchboard sim fake --seed 9 --events 2,5,6 --faults drop=0.1,dup=0,jitter=0');
    // The first run; each of 6 groups left out in turn and each of 3 faults off; once more over
    // the 2 groups left and the one fault still on, which changes nothing.
    assert.equal(r.runs, 13);
  });

  it('does not run the failing run again when its report is given', () => {
    let calls = 0;
    const counted: Scenario = { ...fake, run: (r) => { calls++; return fake.run(r); } };
    const first = counted.run({ seed: 9, ops: undefined, faults: {} });
    calls = 0;
    const r = shrink('fake', counted, { seed: 9, ops: undefined, faults: {} }, first)!;
    assert.equal(r.runs, 13);
    assert.equal(calls, 12);
  });

  it('prints the events kept, the faults switched off, the failure and the replay command', () => {
    const r = shrink('fake', fake, { seed: 9, ops: undefined, faults: {} })!;
    assert.equal(formatShrunk(r, PLAN), [
      'shrunk in 13 runs: it still fails with 3 of 8 plan events, without duplicateRate, jitterMs',
      '  2: event 2', '  5: event 5', '  6: event 6',
      '  lost a write',
      '  replay: switchboard sim fake --seed 9 --events 2,5,6 --faults drop=0.1,dup=0,jitter=0',
      '',
    ].join('\n'));
  });

  it('starts from the events given, and says none when the failure needs none', () => {
    const alwaysFails: Scenario = { ...fake, run: ({ seed }) => report(seed, ['broken']) };
    const r = shrink('fake', alwaysFails, { seed: 2, ops: 5, faults: { latencyMs: 0.1 }, events: [1, 3] })!;
    assert.deepEqual(r.events, []);
    assert.equal(r.replay, 'switchboard sim fake --seed 2 --ops 5 --events none --faults drop=0,dup=0,jitter=0,latency=0.1');
  });

  it('sweep --shrink: the first failures each get the replay command of a smaller run', () => {
    const r = runSweep('fake', fake, 1, SHRINK_AT_MOST + 2, { recheckEvery: 0 });
    assert.equal(r.failures.length, SHRINK_AT_MOST + 2);
    shrinkFailures('fake', fake, r.failures, undefined);
    r.failures.slice(0, SHRINK_AT_MOST).forEach((f) => {
      assert.equal(f.smaller, `switchboard sim fake --seed ${f.seed} --events 2,5,6 --faults drop=0.1,dup=0,jitter=0`);
    });
    assert.ok(r.failures.slice(SHRINK_AT_MOST).every((f) => f.smaller === undefined), 'only the first ones');
  });

  it('returns nothing for a run that passes', () => {
    assert.equal(shrink('fake', fake, { seed: 1, ops: undefined, faults: {}, events: [0, 1] }), undefined);
  });
});

describe('sim --events', () => {
  it('groups a key-value plan\'s events by the host they are about (pegasus)', () => {
    const pegasus = scenarios.pegasus!;
    const run = { seed: 7, ops: 60, faults: {} };
    const plan = pegasus.planEvents!(run);
    const whole = pegasus.run(run);
    assert.equal(pegasus.run({ ...run, events: plan.map((_, i) => i) }).traceHash, whole.traceHash);
    const cut = plan.findIndex((e) => /cut tor0 off/.test(e.what));
    assert.ok(cut >= 0, plan.map((e) => e.what).join('; '));
    const one = pegasus.run({ ...run, events: [cut] });
    const applied = (one.details as { plan: string[] }).plan;
    assert.ok(applied.length >= 2 && applied.every((e) => /tor0/.test(e)), applied.join('; '));
    assert.deepEqual(one.violations, []);
  });

  const nopaxos = scenarios.nopaxos!;
  it('runs the chosen events of the seed\'s plan with their groups; all of them is the whole plan', () => {
    const plan = nopaxos.planEvents!({ seed: 3, ops: undefined, faults: {} });
    const whole = nopaxos.run({ seed: 3, ops: undefined, faults: {} });
    assert.equal(nopaxos.run({ seed: 3, ops: undefined, faults: {}, events: plan.map((_, i) => i) }).traceHash, whole.traceHash);
    // A crash with its restart: choosing the crash brings the restart.
    const crash = plan.findIndex((e) => / crash /.test(e.what));
    assert.ok(crash >= 0, plan.map((e) => e.what).join('; '));
    const partner = plan.findIndex((e, i) => i !== crash && e.group === plan[crash]!.group);
    assert.ok(partner > crash, 'the crash has a restart in its group');
    const one = nopaxos.run({ seed: 3, ops: undefined, faults: {}, events: [crash] });
    const applied = (one.details as { events: string[] }).events;
    assert.equal(applied.length, 2, applied.join('; '));
    assert.match(applied[0]!, /crash/);
    assert.match(applied[1]!, /restart/);
    assert.deepEqual(one.violations, []);
    assert.notEqual(one.traceHash, whole.traceHash);
    assert.equal(nopaxos.run({ seed: 3, ops: undefined, faults: {}, events: [crash] }).traceHash, one.traceHash);
  });
});
