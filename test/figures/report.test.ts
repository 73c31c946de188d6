// The report judges each claim on the data: a claim holds, partly holds or does not hold as the
// synthetic results say, and the Markdown shows the figure, the paper's claim and the verdict.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dropRateClaim, failoverClaim, rackFailureClaim, skewClaim, verdictOf } from '../../bench/figures/claims.ts';
import { asNopaxos, asPegasus } from '../../bench/figures/data.ts';
import { figuresOf, mergeMeta } from '../../bench/figures/index.ts';
import { buildReport, type RunMeta } from '../../bench/figures/report.ts';
import { syntheticNopaxos, syntheticPegasus } from './fixtures.ts';

const META: RunMeta = {
  date: '2026-11-25T00:00:00.000Z', commit: 'abc123', dirty: false, quick: true, wallSeconds: { nopaxos: 1 }, command: 'switchboard figures --quick',
  machine: { cores: 2, cpu: 'Test CPU', node: 'v20.0.0', os: 'Linux', loadAverage1m: 0.5 },
};

function sectionOf(report: string, name: string): string {
  const start = report.indexOf(`<a id="${name}"></a>`);
  assert.ok(start >= 0, `the report has a section for ${name}`);
  const next = report.indexOf('<a id=', start + 1);
  return report.slice(start, next < 0 ? undefined : next);
}

describe('figures: claims and report', () => {
  it('judges the drop-rate claim on the data', () => {
    assert.equal(dropRateClaim(asNopaxos(syntheticNopaxos())).verdict, 'holds');
    const worse = dropRateClaim(asNopaxos(syntheticNopaxos({ worse: true })));
    assert.equal(worse.verdict, 'does not hold');
    assert.match(worse.checks[0]!.measured, /120 k ops\/s ÷ 249 k ops\/s = 0\.482/);
  });

  it('a failover that never reaches full throughput does not hold in full', () => {
    const c = failoverClaim(asNopaxos(syntheticNopaxos({ worse: true })));
    assert.equal(c.verdict, 'partly holds');
    assert.deepEqual(c.checks.map((x) => x.holds), [true, false]);
  });

  it('the 10× claim against consistent hashing holds only when the data show it', () => {
    const tenX = (p: number): boolean | null => skewClaim(asPegasus(syntheticPegasus({ pegasusAt12: p }))).checks[0]!.holds;
    assert.equal(tenX(1200), true);
    assert.equal(tenX(900), false);
  });

  it('the rack failure holds only when every seed\'s rack came back', () => {
    assert.equal(rackFailureClaim(asPegasus(syntheticPegasus())).verdict, 'holds');
    const c = rackFailureClaim(asPegasus(syntheticPegasus({ rackNeverBack: true })));
    assert.equal(c.verdict, 'partly holds');
    assert.deepEqual(c.checks.map((x) => x.holds), [true, true, true, false]);
    assert.equal(c.checks[3]!.measured, '3 / never ms');
  });

  it('a verdict counts only the checks with data', () => {
    const c = (holds: boolean | null) => ({ what: '', measured: '', criterion: '', holds });
    assert.equal(verdictOf([c(true)]), 'holds');
    assert.equal(verdictOf([c(true), c(null)]), 'holds where measured');
    assert.equal(verdictOf([c(true), c(false)]), 'partly holds');
    assert.equal(verdictOf([c(false), c(null)]), 'does not hold');
    assert.equal(verdictOf([c(null)]), 'not measured');
  });

  it('writes a report with each figure, the paper\'s claim and the verdict, and the machine', () => {
    const entries = figuresOf({ nopaxos: syntheticNopaxos({ worse: true }), pegasus: syntheticPegasus() });
    assert.equal(entries.length, 10);
    const report = buildReport({ meta: META, entries, linkTo: (name, ext) => `results/${name}.${ext}` });
    assert.match(report, /2 cores, Test CPU/);
    assert.match(report, /commit `abc123`/);
    assert.match(report, /--quick run/);
    const drops = sectionOf(report, 'nopaxos-drop-rate');
    assert.match(drops, /!\[[^\]]+\]\(results\/nopaxos-drop-rate\.png\)/);
    assert.match(drops, /\*\*Paper:\*\* NOPaxos stays near the unreplicated level at 1 % packet loss/);
    assert.match(drops, /\*\*Here:\*\* ❌ does not hold/);
    assert.match(sectionOf(report, 'nopaxos-replicas'), /\*\*Here:\*\* ✅ holds/);
    // The summary table lists every figure with its verdict.
    assert.match(report, /\| \[NOPaxos: throughput against the packet drop rate\]\(#nopaxos-drop-rate\) \| [^|]+ \| ❌ does not hold \|/);
  });

  it('refuses a result that is not the benchmark\'s', () => {
    assert.throws(() => asNopaxos({ name: 'pegasus', config: {}, results: {}, ratios: {} }), /not a 'bench nopaxos' result/);
    const r = syntheticPegasus();
    delete (r.results as Record<string, unknown>)['dynamic'];
    assert.throws(() => asPegasus(r), /lacks results\.dynamic/);
  });

  it('figures --only into a directory of a full run keeps the other benchmark\'s date and commit, and the report names them', () => {
    const full: RunMeta = { ...META, quick: false, commit: 'old111', wallSeconds: { nopaxos: 400, pegasus: 600 }, command: 'switchboard figures --out d' };
    const only: RunMeta = { ...META, quick: false, commit: 'new222', date: '2026-11-26T00:00:00.000Z', wallSeconds: { pegasus: 300 }, command: 'switchboard figures --only pegasus --out d' };
    const merged = mergeMeta(only, full, () => true);
    assert.deepEqual(merged.earlier, { nopaxos: { date: META.date, commit: 'old111', dirty: false, command: 'switchboard figures --out d', wallSeconds: 400, quick: false } });
    // A second --only run keeps the earliest record of the benchmark it does not run.
    const again = mergeMeta({ ...only, commit: 'new333' }, merged, () => true);
    assert.equal(again.earlier?.nopaxos?.commit, 'old111');
    // Nothing earlier is claimed for results that are not in the directory, or that this run replaced.
    assert.equal(mergeMeta(only, full, (b) => b !== 'nopaxos').earlier, undefined);
    assert.equal(mergeMeta({ ...only, wallSeconds: { nopaxos: 1, pegasus: 1 } }, full, () => true).earlier, undefined);
    const report = buildReport({ meta: merged, entries: [], linkTo: (n) => n });
    assert.match(report, /commit `new222`/);
    assert.match(report, /`bench nopaxos`: from an earlier full run, `switchboard figures --out d` on 2026-11-25T00:00:00.000Z, commit `old111`, 400 s wall/);
    assert.match(report, /- Full run of this run's benchmarks\./);
    // An earlier --quick run is named as one.
    const quickEarlier = buildReport({ meta: mergeMeta(only, { ...full, quick: true }, () => true), entries: [], linkTo: (n) => n });
    assert.match(quickEarlier, /`bench nopaxos`: from an earlier \*\*--quick\*\* run/);
  });
});
