// A scenario from the user's own module (docs/scenarios.md): `sim` and `sweep` take its path as
// they take a built-in's name, a sweep's worker threads load it too, its replay commands name the
// path, and a module that is missing, broken or exports no scenario is refused with one line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../../bench/children.ts';
import { runSweep, runSweepParallel } from '../../cli/commands/sweep.ts';
import { isScenarioPath, resolveScenario, scenarioProblem } from '../../cli/scenario-file.ts';
import { UsageError } from '../../cli/main.ts';
import { scenarios } from '../../cli/scenarios.ts';

const GOOD = 'examples/scenarios/kv-server.ts';
const BUGGY = 'examples/scenarios/kv-server-no-dedup.ts';

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('scenario modules', () => {
  it('tells a path from a built-in name', () => {
    for (const p of ['./x.ts', 'a/b', 'x.mjs', 'x.js', 'C:\\s.ts']) assert.ok(isScenarioPath(p), p);
    for (const n of ['nopaxos', 'kv-hash', 'pegasus']) assert.ok(!isScenarioPath(n), n);
  });

  it('the example runs deterministically, and a sweep of it passes in this thread and in a worker', async () => {
    const s = await resolveScenario(GOOD);
    const a = s.run({ seed: 5, ops: undefined, faults: { dropRate: 0.05, duplicateRate: 0.05, jitterMs: 0.2 } });
    const b = s.run({ seed: 5, ops: undefined, faults: { dropRate: 0.05, duplicateRate: 0.05, jitterMs: 0.2 } });
    assert.equal(a.completed, 60);
    assert.equal(a.linearizable, true);
    assert.equal(a.traceHash, b.traceHash);
    const here = runSweep(GOOD, s, 1, 40, { recheckEvery: 5 });
    assert.equal(here.passed, 40, JSON.stringify(here.failures));
    // A worker resolves the path itself (it shares the working directory).
    const there = await runSweepParallel(GOOD, s, 1, 10, { jobs: 1, workersOnly: true, recheckEvery: 0 });
    assert.equal(there.passed, 10, JSON.stringify(there.failures));
  });

  it('a sweep of the variant without a client table fails seeds the worker and this thread agree on', async () => {
    const s = await resolveScenario(BUGGY);
    const here = runSweep(BUGGY, s, 1, 20, { recheckEvery: 0 });
    const there = await runSweepParallel(BUGGY, s, 1, 20, { jobs: 1, workersOnly: true, recheckEvery: 0 });
    assert.ok(here.failures.length >= 5, `${here.failures.length} of 20 seeds failed`);
    assert.deepEqual(there.failures, here.failures);
    assert.match(here.failures[0]!.reason, /^not linearizable: key/);
    assert.match(here.failures[0]!.replay, new RegExp(`^switchboard sim ${BUGGY} --seed ${here.failures[0]!.seed}`));
  });

  it('through the command: the replay line reproduces the failure, and --shrink and --events work', () => {
    const sweep = run(['sweep', BUGGY, '--seeds', '1..12', '--jobs', '1', '--json']);
    assert.equal(sweep.code, 1, sweep.err);
    const report = JSON.parse(sweep.out) as { failures: { seed: number; reason: string; replay: string }[] };
    const f = report.failures[0]!;
    const replay = run([...f.replay.replace(/^switchboard /, '').split(' '), '--json']);
    assert.equal(replay.code, 1);
    const again = JSON.parse(replay.out) as { violations: string[]; traceHash: string };
    assert.equal(again.violations[0]!.slice(0, 200), f.reason.slice(0, 200));
    assert.match(replay.err, new RegExp(`replay: switchboard sim ${BUGGY} --seed ${f.seed}`));
    const shrunk = run([...f.replay.replace(/^switchboard /, '').split(' '), '--shrink']);
    assert.equal(shrunk.code, 1);
    assert.match(shrunk.out, /shrunk in \d+ runs: it still fails/);
    assert.match(shrunk.err, new RegExp(`smaller: switchboard sim ${BUGGY} --seed ${f.seed} --events`));
    // Seed 3's plan has three events; --events picks one of them.
    const events = run(['sim', GOOD, '--seed', '3', '--events', '1', '--json']);
    assert.equal(events.code, 0, events.err);
    const planEvents = (JSON.parse(events.out) as { details: { planEvents: string[] } }).details.planEvents;
    assert.equal(planEvents.length, 3);
    assert.equal(planEvents.filter((e) => e.endsWith('(left out)')).length, 2);
  });

  it('refuses a missing, broken or wrong module with one line and exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-scenario-'));
    const file = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const cases: [string, RegExp][] = [
      [join(dir, 'none.ts'), /none\.ts: no such file/],
      [file('syntax.mts', 'export default {\n'), /syntax\.mts: cannot load it: /],
      [file('throws.mts', 'throw new Error("no config here");\n'), /throws\.mts: cannot load it: no config here/],
      [file('empty.mts', 'export const x = 1;\n'), /empty\.mts: exports no scenario \(a default export, or one named 'scenario'\)/],
      [file('norun.mts', 'export default { description: "d", defaultOps: 3 };\n'), /norun\.mts: its scenario has no run function/],
      [file('named.mts', 'export const scenario = { description: "d", defaultOps: 0, run() {} };\n'), /named\.mts: its scenario has no defaultOps \(a positive integer\)/],
      // A .ts file with no package.json of "type": "module" above it is CommonJS to Node.
      [file('cjs.ts', 'export default { description: "d", defaultOps: 1, run() {} };\n'), /cjs\.ts: cannot load it: it is a CommonJS module to Node .*name it \.mts/],
    ];
    // In this process (tsx loaded with --import, which takes CommonJS .ts files too) all but the last.
    for (const [path, why] of cases.slice(0, -1)) await assert.rejects(resolveScenario(path), (err: Error) => err instanceof UsageError && why.test(err.message), path);
    await assert.rejects(resolveScenario('no-such-scenario'), /unknown scenario 'no-such-scenario'; choose one of: .*or give the path of a scenario module/);
    // Through the command: exit code 2 and one line, from sim and from sweep.
    for (const [cmd, why] of [[['sim', cases[6]![0]], cases[6]![1]], [['sweep', cases[0]![0], '--seeds', '1..2'], cases[0]![1]]] as const) {
      const r = run([...cmd]);
      assert.equal(r.code, 2, `${cmd.join(' ')}: ${r.err}`);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, why);
    }
  });

  it('a run that returns a malformed report is an error that names what is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-scenario-'));
    const p = join(dir, 'bad-report.mts');
    writeFileSync(p, 'export default { description: "d", defaultOps: 1, run: ({ seed }) => ({ scenario: "x", seed, ops: 1, completed: 1, linearizable: true, violations: [] }) };\n');
    const r = run(['sim', p]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /bad-report\.mts: run returned a report that has no traceHash \(a string\)/);
    const sweep = run(['sweep', p, '--seeds', '1..2', '--jobs', '1']);
    assert.equal(sweep.code, 1);
    assert.match(sweep.out, /seed 1: threw: .*has no traceHash/);
  });

  it('checks the shape of a scenario, and every built-in one has it', () => {
    assert.match(scenarioProblem(null) ?? '', /is null/);
    assert.match(scenarioProblem({ description: 'd', defaultOps: 1, run: () => 0, planEvents: 3 }) ?? '', /planEvents that is not a function/);
    for (const [name, s] of Object.entries(scenarios)) assert.equal(scenarioProblem(s), undefined, name);
  });
});
