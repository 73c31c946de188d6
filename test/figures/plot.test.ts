// Rendering: a figure's Vega-Lite spec gives an SVG with its marks, axis titles and legend, and a
// PNG that is a real image of twice the SVG's size.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asNopaxos, asPegasus } from '../../bench/figures/data.ts';
import { render } from '../../bench/figures/plot.ts';
import { nopaxosFigures, pegasusFigures, rackFailureTimeline, replicaScaling, skew } from '../../bench/figures/specs.ts';
import { syntheticNopaxos, syntheticPegasus } from './fixtures.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('figures: rendering', () => {
  it('draws the replica-scaling figure as SVG with its lines, axes and legend, and as a PNG', async () => {
    const fig = replicaScaling(asNopaxos(syntheticNopaxos()));
    const { svg, png } = await render(fig.spec);
    assert.match(svg, /^<svg[^>]*width="(\d+)"/);
    // Two series (NOPaxos and Multi-Paxos): two lines, and a point per replica count on each.
    assert.equal((svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? []).length, 2);
    assert.equal((svg.match(/<path[^>]*aria-roledescription="point"/g) ?? []).length, 8);
    for (const label of ['replicas', 'throughput (thousand operations/s)', 'NOPaxos (in-switch sequencer)', 'Multi-Paxos', 'NOPaxos: saturated throughput']) {
      assert.ok(svg.includes(label), `the SVG shows '${label}'`);
    }
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    assert.ok(png.length > 10_000, `a PNG of ${png.length} bytes has content`);
    const svgWidth = Number(/^<svg[^>]*width="(\d+)"/.exec(svg)![1]);
    assert.equal(png.readUInt32BE(16), 2 * svgWidth, 'the PNG is drawn at twice the SVG size');
  });

  it('plots the skew figure on the data given, with the uniform ideal as a series', async () => {
    const fig = skew(asPegasus(syntheticPegasus()));
    const ideal = fig.rows.filter((r) => r['key'] === 'ideal');
    assert.equal(ideal.length, 4);
    assert.ok(ideal.every((r) => r['opsPerMs'] === 1600));
    const { svg } = await render(fig.spec);
    for (const label of ['Zipf skew', 'throughput with p99 ≤ 100 µs (operations/ms)', 'Consistent hashing', 'Uniform workload (ideal)']) {
      assert.ok(svg.includes(label), `the SVG shows '${label}'`);
    }
  });

  it('has one figure per figure of the two evaluations, each with rows', () => {
    const names = [...nopaxosFigures(asNopaxos(syntheticNopaxos())), ...pegasusFigures(asPegasus(syntheticPegasus()))].map((f) => f.name);
    assert.deepEqual(names, ['nopaxos-latency-throughput', 'nopaxos-drop-rate', 'nopaxos-replicas', 'nopaxos-failover',
      'pegasus-skew', 'pegasus-write-ratio', 'pegasus-value-size', 'pegasus-dynamic', 'pegasus-rkeys', 'pegasus-rack-failure']);
    // A result from before the rack failure run was added has the paper's figures only.
    const older = syntheticPegasus();
    delete (older.results as Record<string, unknown>)['rackFailure'];
    assert.equal(pegasusFigures(asPegasus(older)).at(-1)!.name, 'pegasus-rkeys');
  });

  it('draws the rack failure timeline with its events', async () => {
    const fig = rackFailureTimeline(asPegasus(syntheticPegasus()));
    const events = fig.rows.filter((r) => r['event'] !== undefined).map((r) => [r['event'], r['tMs']]);
    assert.deepEqual(events.map(([, t]) => t), [30, 44.5, 90, 94, 96.5]);
    const { svg } = await render(fig.spec);
    for (const label of ['the controller takes the rack out of the chain', 'the join is done (clients read there)', 'goodput (completions within the SLO)']) {
      assert.ok(svg.includes(label), `the SVG shows '${label}'`);
    }
  });
});
