// A sweep reports every failing seed with the command that replays it, catches a scenario
// whose trace differs between two runs of one seed, and draws the same fault plan for a seed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { drawNetworkFaults, parseSeedRange, runSweep, runSweepParallel } from '../../cli/commands/sweep.ts';
import type { Scenario, SimReport } from '../../cli/scenarios.ts';
import { scenarios } from '../../cli/scenarios.ts';
import { scenarios as fixtures } from './fixtures/sweep-scenarios.ts';

function report(seed: number, over: Partial<SimReport>): SimReport {
  return {
    scenario: 'fake', seed, ops: 1, completed: 1, linearizable: true, violations: [], traceHash: 'h',
    virtualMs: 0, wallMs: 0, details: {}, ...over,
  };
}

describe('sweep', () => {
  it('names each failing seed with its replay command', () => {
    const fake: Scenario = {
      description: 'fails on seed 3, not linearizable on seed 5, throws on seed 6', defaultOps: 1,
      run: ({ seed }) => {
        if (seed === 6) throw new Error('boom');
        return report(seed, seed === 3 ? { violations: ['lost a write'] } : seed === 5 ? { linearizable: false } : {});
      },
    };
    const r = runSweep('fake', fake, 1, 8, { ops: 4, recheckEvery: 0 });
    assert.equal(r.passed, 5);
    assert.deepEqual(r.failures.map((f) => f.seed), [3, 5, 6]);
    assert.match(r.failures[0]!.reason, /lost a write/);
    assert.match(r.failures[1]!.reason, /not linearizable/);
    assert.match(r.failures[2]!.reason, /threw: boom/);
    assert.match(r.failures[0]!.replay, /^switchboard sim fake --seed 3 --ops 4/);
  });

  it('catches non-determinism by running a seed twice', () => {
    let calls = 0;
    const flaky: Scenario = { description: '', defaultOps: 1, run: ({ seed }) => report(seed, { traceHash: String(calls++) }) };
    const r = runSweep('flaky', flaky, 1, 1, { recheckEvery: 1 });
    assert.equal(r.failures.length, 1);
    assert.match(r.failures[0]!.reason, /non-deterministic/);
  });

  it('gives the same report over worker threads as in one thread, each failure with its seed and replay', async () => {
    const registry = new URL('./fixtures/sweep-scenarios.ts', import.meta.url).href;
    const strip = (r: { passed: number; failures: { seed: number; reason: string; replay: string }[] }) =>
      ({ passed: r.passed, failures: r.failures.map((f) => ({ ...f, reason: f.reason.replace(/ in thread \d+/, '') })) });
    const serial = runSweep('fake', fixtures.fake!, 1, 60, { ops: 3, recheckEvery: 4 });
    const seen: number[] = [];
    const parallel = await runSweepParallel('fake', fixtures.fake!, 1, 60, {
      ops: 3, recheckEvery: 4, jobs: 2, registry, workersOnly: true, onSeed: (s) => seen.push(s),
    });
    assert.deepEqual(strip(parallel), strip(serial));
    assert.deepEqual(parallel.failures.map((f) => f.seed), [5, 7, 12, 14, 15, 21, 25, 28, 35, 42, 45, 49, 55, 56]);
    assert.ok(parallel.failures.every((f) => !/ in thread 0$/.test(f.reason)), 'the workers ran the seeds');
    assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1), 'each seed reported once');
    assert.match(parallel.failures.find((f) => f.seed === 12)!.reason, /threw: boom/);
    assert.match(parallel.failures[0]!.replay, /^switchboard sim fake --seed 5 --ops 3/);
    // This thread and a worker together, as the CLI runs it: the same report.
    const mixed = await runSweepParallel('fake', fixtures.fake!, 1, 60, { ops: 3, recheckEvery: 4, jobs: 2, registry });
    assert.deepEqual(strip(mixed), strip(serial));
  });

  it('reports a worker that cannot start or dies mid-block, naming it and its seeds', async () => {
    await assert.rejects(
      runSweepParallel('missing', fixtures.fake!, 1, 4, { jobs: 1, workersOnly: true, registry: new URL('./fixtures/sweep-scenarios.ts', import.meta.url).href }),
      /sweep worker 0 failed: no scenario 'missing'/,
    );
    await assert.rejects(
      runSweepParallel('dies', fixtures.dies!, 1, 3, { jobs: 1, workersOnly: true, registry: new URL('./fixtures/sweep-scenarios.ts', import.meta.url).href }),
      /sweep worker 0 exited with code 3 running seeds 2\.\.2/,
    );
  });

  it('draws one fault plan per seed, and different plans across seeds', () => {
    assert.deepEqual(drawNetworkFaults(11), drawNetworkFaults(11));
    const plans = new Set(Array.from({ length: 20 }, (_, i) => JSON.stringify(drawNetworkFaults(i))));
    assert.ok(plans.size > 5);
  });

  it('passes 200 seeds of ping-pong under random faults, rechecking determinism', () => {
    const r = runSweep('pingpong', scenarios.pingpong!, 1, 200, { ops: 100, recheckEvery: 10 });
    assert.deepEqual(r.failures, []);
    assert.equal(r.passed, 200);
  });

  it('parses seed ranges and refuses bad ones', () => {
    assert.deepEqual(parseSeedRange('3..9'), [3, 9]);
    assert.throws(() => parseSeedRange('9..3'));
    assert.throws(() => parseSeedRange('x'));
    // Only seeds that sim --seed takes (a failure's replay command must work), and not endless.
    assert.deepEqual(parseSeedRange('2147483640..2147483647'), [2147483640, 2147483647]);
    assert.throws(() => parseSeedRange('2147483648..2147483649'), /seeds are 0\.\.2147483647/);
    assert.throws(() => parseSeedRange('1..99999999999'), /seeds are/);
    assert.throws(() => parseSeedRange('1..20000000'), /at most 10000000/);
  });
});
