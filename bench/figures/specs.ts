// One Vega-Lite spec per figure of the NOPaxos and Pegasus evaluations, built from the results
// of `bench nopaxos` and `bench pegasus` (nothing here measures anything). Each figure keeps the
// rows it plots, which are written beside it as JSON.
import type { TopLevelSpec } from 'vega-lite';
import type { Nopaxos, Pegasus } from './data.ts';

export type Row = Record<string, string | number | boolean | null>;

export interface Figure {
  /** File name (without extension) of the figure's SVG, PNG and JSON. */
  readonly name: string;
  readonly title: string;
  readonly bench: 'nopaxos' | 'pegasus';
  /** Where in the benchmark's result the rows come from. */
  readonly source: string;
  readonly rows: readonly Row[];
  readonly spec: TopLevelSpec;
}

const WIDTH = 560;
const HEIGHT = 320;

const NOPAXOS_LABELS: Record<string, string> = {
  nopaxos: 'NOPaxos (in-switch sequencer)',
  paxos: 'Multi-Paxos',
  paxosBatching: 'Multi-Paxos, batching (64)',
  unreplicated: 'Unreplicated',
  nopaxosNoGapWait: 'NOPaxos, no gap wait',
};
const NOPAXOS_COLORS: Record<string, string> = {
  nopaxos: '#1f77b4', paxos: '#d62728', paxosBatching: '#ff7f0e', unreplicated: '#2ca02c', nopaxosNoGapWait: '#9467bd',
};
const PEGASUS_LABELS: Record<string, string> = {
  pegasus: 'Pegasus', 'kv-hash': 'Consistent hashing', netcache: 'NetCache', ideal: 'Uniform workload (ideal)',
};
const PEGASUS_COLORS: Record<string, string> = { pegasus: '#1f77b4', 'kv-hash': '#d62728', netcache: '#ff7f0e', ideal: '#7f7f7f' };

/** The series present, in the order of `labels`. */
function seriesOrder(labels: Record<string, string>, present: readonly string[]): string[] {
  return Object.keys(labels).filter((k) => present.includes(k));
}

/** A color scale over the series present, in a fixed order and fixed colors across figures. */
function colorScale(labels: Record<string, string>, colors: Record<string, string>, present: readonly string[]) {
  const keys = seriesOrder(labels, present);
  return { domain: keys.map((k) => labels[k]!), range: keys.map((k) => colors[k]!) };
}

const systemsIn = (rows: readonly Row[]): string[] => [...new Set(rows.map((r) => String(r['key'])))];

function quickNote(quick: boolean, what = 'fewer points, shorter windows'): string {
  return quick ? ` [--quick run: ${what}]` : '';
}

const PEGASUS_QUICK = 'fewer points and seeds, shorter steps';

// ---- NOPaxos ------------------------------------------------------------------------------------

export function latencyThroughput(n: Nopaxos): Figure {
  const rows: Row[] = [];
  for (const [key, pts] of Object.entries(n.results.curves)) {
    if (!NOPAXOS_LABELS[key]) continue;
    for (const p of pts) {
      rows.push({ key, system: NOPAXOS_LABELS[key]!, clients: p.clients, kOpsPerSec: p.opsPerSec / 1000, p50Us: p.p50Us, p99Us: p.p99Us });
    }
  }
  const order = seriesOrder(NOPAXOS_LABELS, systemsIn(rows));
  return {
    name: 'nopaxos-latency-throughput', title: 'NOPaxos: latency against throughput', bench: 'nopaxos', source: 'results.curves', rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'NOPaxos: median latency against throughput', subtitle: `5 replicas, closed-loop clients 1 to 1024 (one point per client count)${quickNote(n.quick)}` },
      width: WIDTH, height: HEIGHT,
      data: { values: rows },
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'kOpsPerSec', type: 'quantitative', title: 'throughput (thousand operations/s)' },
        y: { field: 'p50Us', type: 'quantitative', title: 'median latency (µs, log scale)', scale: { type: 'log' } },
        color: { field: 'system', type: 'nominal', title: 'system', scale: colorScale(NOPAXOS_LABELS, NOPAXOS_COLORS, systemsIn(rows)) },
        // NOPaxos and unreplicated coincide: distinct shapes and a dashed unreplicated line keep both visible.
        shape: { field: 'system', type: 'nominal', scale: { domain: order.map((k) => NOPAXOS_LABELS[k]!) } },
        strokeDash: {
          field: 'system', type: 'nominal',
          scale: { domain: order.map((k) => NOPAXOS_LABELS[k]!), range: order.map((k) => (k === 'unreplicated' ? [6, 4] : [1, 0])) },
        },
        order: { field: 'clients', type: 'quantitative' },
        tooltip: [{ field: 'system' }, { field: 'clients' }, { field: 'kOpsPerSec' }, { field: 'p50Us' }, { field: 'p99Us' }],
      },
    } as TopLevelSpec,
  };
}

const percent = (rate: number): string => (rate === 0 ? '0 %' : `${+(rate * 100).toPrecision(3)} %`);

export function dropRate(n: Nopaxos): Figure {
  const rows: Row[] = [];
  for (const [key, pts] of Object.entries(n.results.drops)) {
    if (!NOPAXOS_LABELS[key]) continue;
    for (const p of pts) rows.push({ key, system: NOPAXOS_LABELS[key]!, dropRate: p.dropRate, drop: percent(p.dropRate), kOpsPerSec: p.opsPerSec / 1000 });
  }
  const order = [...new Set(rows.map((r) => Number(r['dropRate'])))].sort((a, b) => a - b).map(percent);
  return {
    name: 'nopaxos-drop-rate', title: 'NOPaxos: throughput against the packet drop rate', bench: 'nopaxos', source: 'results.drops', rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'NOPaxos: maximum throughput against the packet drop rate', subtitle: `1024 closed-loop clients, every link drops packets at the rate shown${quickNote(n.quick)}` },
      width: WIDTH, height: HEIGHT,
      data: { values: rows },
      mark: { type: 'line', point: { size: 60 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'drop', type: 'ordinal', sort: order, title: 'packet drop rate (every link)', axis: { labelAngle: 0 } },
        y: { field: 'kOpsPerSec', type: 'quantitative', title: 'throughput (thousand operations/s)', scale: { zero: true } },
        color: { field: 'system', type: 'nominal', title: 'system', scale: colorScale(NOPAXOS_LABELS, NOPAXOS_COLORS, systemsIn(rows)) },
      },
    } as TopLevelSpec,
  };
}

export function replicaScaling(n: Nopaxos): Figure {
  const rows: Row[] = n.results.replicas.flatMap((r) => [
    { key: 'nopaxos', system: NOPAXOS_LABELS['nopaxos']!, replicas: r.replicas, kOpsPerSec: r.nopaxos / 1000 },
    { key: 'paxos', system: NOPAXOS_LABELS['paxos']!, replicas: r.replicas, kOpsPerSec: r.paxos / 1000 },
  ]);
  return {
    name: 'nopaxos-replicas', title: 'NOPaxos: throughput against the number of replicas', bench: 'nopaxos', source: 'results.replicas', rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'NOPaxos: saturated throughput against the number of replicas', subtitle: `the same closed-loop load at every replica count${quickNote(n.quick)}` },
      width: WIDTH, height: HEIGHT,
      data: { values: rows },
      mark: { type: 'line', point: { size: 60 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'replicas', type: 'quantitative', title: 'replicas', scale: { domain: [3, 9] }, axis: { values: n.results.replicas.map((r) => r.replicas), format: 'd' } },
        y: { field: 'kOpsPerSec', type: 'quantitative', title: 'throughput (thousand operations/s)', scale: { zero: true } },
        color: { field: 'system', type: 'nominal', title: 'system', scale: colorScale(NOPAXOS_LABELS, NOPAXOS_COLORS, systemsIn(rows)) },
      },
    } as TopLevelSpec,
  };
}

/** Width of the failover timeline's buckets (bench/nopaxos.ts: timelineOpsPer5Ms, from 10 ms before the crash). */
const FAILOVER_BUCKET_MS = 5;
const FAILOVER_LEAD_MS = 10;

export function failoverTimeline(n: Nopaxos): Figure {
  const f = n.results.failover;
  const rows: Row[] = f.timelineOpsPer5Ms.map((count, i) => ({
    tMs: i * FAILOVER_BUCKET_MS - FAILOVER_LEAD_MS, kOpsPerSec: count / FAILOVER_BUCKET_MS,
  }));
  const events: Row[] = [
    { event: 'sequencer crashes', tMs: 0 },
    { event: 'controller installs the standby', tMs: f.detectMs },
    { event: 'first operation through the new sequencer', tMs: f.resumeMs },
    { event: '90 % of steady throughput (5-ms window ends)', tMs: f.fullThroughputMs },
  ].filter((e) => e.tMs !== null);
  const steady = [{ kOpsPerSec: f.steadyOpsPerSec / 1000, label: 'steady throughput before the crash' }];
  return {
    name: 'nopaxos-failover', title: 'NOPaxos: throughput around a sequencer failure', bench: 'nopaxos', source: 'results.failover', rows: [...rows, ...events],
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: 'NOPaxos: throughput around a sequencer failure',
        subtitle: [
          `host-based sequencers with the controller, every timeout the reference's; completions per ${FAILOVER_BUCKET_MS}-ms bucket`,
          `dotted: mean throughput over the sync period before the crash${quickNote(n.quick)}`,
        ],
      },
      width: WIDTH, height: HEIGHT,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, color: NOPAXOS_COLORS['nopaxos'] },
          encoding: {
            x: { field: 'tMs', type: 'quantitative', title: 'time since the sequencer crashed (ms of virtual time)', scale: { nice: false, domain: [-FAILOVER_LEAD_MS, rows.length * FAILOVER_BUCKET_MS - FAILOVER_LEAD_MS] } },
            y: { field: 'kOpsPerSec', type: 'quantitative', title: 'throughput (thousand operations/s)' },
          },
        },
        {
          data: { values: steady },
          mark: { type: 'rule', strokeDash: [2, 3], color: '#555' },
          encoding: { y: { field: 'kOpsPerSec', type: 'quantitative' } },
        },
        {
          data: { values: events },
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: {
            x: { field: 'tMs', type: 'quantitative' },
            // Detection and the first operation are a fraction of a millisecond apart: dashes that interleave.
            strokeDash: { field: 'event', type: 'nominal', sort: null, scale: { range: [[1, 0], [8, 8], [2, 6], [6, 3]] } },
            color: {
              field: 'event', type: 'nominal', title: 'event', sort: null, scale: { range: ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd'] },
              legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 },
            },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

// ---- Pegasus ------------------------------------------------------------------------------------

function sloTitle(p: Pegasus): string {
  return `throughput with p99 ≤ ${Math.round(p.sloP99Ms * 1000)} µs (operations/ms)`;
}

function pegasusSubtitle(p: Pegasus, what: string): string[] {
  return [`32 servers, 100,000 keys, ${what}`, `median over seeds of the highest load meeting the SLO${quickNote(p.quick, PEGASUS_QUICK)}`];
}

export function skew(p: Pegasus): Figure {
  const rows: Row[] = [];
  for (const [key, byZipf] of Object.entries(p.results.skew)) {
    for (const [z, v] of Object.entries(byZipf)) {
      const [min, max] = p.results.skewSpreadMinMax[key]?.[z] ?? [v, v];
      rows.push({ key, system: PEGASUS_LABELS[key] ?? key, zipf: Number(z), opsPerMs: v, min, max });
    }
  }
  const zipfs = [...new Set(rows.map((r) => Number(r['zipf'])))].sort((a, b) => a - b);
  for (const z of zipfs) rows.push({ key: 'ideal', system: PEGASUS_LABELS['ideal']!, zipf: z, opsPerMs: p.results.idealUniform, min: null, max: null });
  const color = { field: 'system', type: 'nominal', title: 'system', scale: colorScale(PEGASUS_LABELS, PEGASUS_COLORS, systemsIn(rows)) };
  return {
    name: 'pegasus-skew', title: 'Pegasus: throughput against Zipf skew', bench: 'pegasus', source: 'results.skew, results.skewSpreadMinMax, results.idealUniform', rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Pegasus: throughput against workload skew', subtitle: [...pegasusSubtitle(p, '95 % reads, 128-B values'), 'bars: min–max over seeds; ideal: Pegasus under a uniform workload (Zipf 0)'] },
      width: WIDTH, height: HEIGHT,
      data: { values: rows },
      encoding: { x: { field: 'zipf', type: 'quantitative', title: 'Zipf skew', axis: { values: zipfs, format: '~g', labelOverlap: false } } },
      layer: [
        {
          mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
          encoding: {
            y: { field: 'opsPerMs', type: 'quantitative', title: sloTitle(p), scale: { zero: true } },
            color,
            strokeDash: { condition: { test: "datum.key === 'ideal'", value: [6, 4] }, value: [1, 0] },
          },
        },
        {
          transform: [{ filter: 'datum.min !== null' }],
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
        },
      ],
    } as TopLevelSpec,
  };
}

export function writeRatio(p: Pegasus): Figure {
  const rows: Row[] = [];
  for (const [key, byRatio] of Object.entries(p.results.writes)) {
    for (const [ratio, v] of Object.entries(byRatio)) {
      const writePct = Number.parseFloat(ratio);
      rows.push({ key, system: PEGASUS_LABELS[key] ?? key, writePct, workload: 'Zipf 0.99', opsPerMs: v.zipf099 });
      rows.push({ key, system: PEGASUS_LABELS[key] ?? key, writePct, workload: 'uniform (the same system)', opsPerMs: v.uniform });
    }
  }
  return {
    name: 'pegasus-write-ratio', title: 'Pegasus: throughput against the write ratio', bench: 'pegasus', source: 'results.writes', rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Pegasus: throughput against the write ratio', subtitle: pegasusSubtitle(p, '128-B values; solid: Zipf 0.99, dashed: uniform') },
      width: WIDTH, height: HEIGHT,
      data: { values: rows },
      mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'writePct', type: 'quantitative', title: 'writes (% of operations)', scale: { domain: [0, 100] } },
        y: { field: 'opsPerMs', type: 'quantitative', title: sloTitle(p), scale: { type: 'log' } },
        color: { field: 'system', type: 'nominal', title: 'system', scale: colorScale(PEGASUS_LABELS, PEGASUS_COLORS, systemsIn(rows)) },
        strokeDash: { field: 'workload', type: 'nominal', title: 'workload', sort: ['Zipf 0.99'], scale: { range: [[1, 0], [6, 4]] } },
        shape: { field: 'workload', type: 'nominal', title: 'workload', sort: ['Zipf 0.99'] },
      },
    } as TopLevelSpec,
  };
}

export function valueSize(p: Pegasus): Figure {
  const rows: Row[] = [];
  for (const [key, bySize] of Object.entries(p.results.valueSize)) {
    for (const [size, v] of Object.entries(bySize)) rows.push({ key, system: PEGASUS_LABELS[key] ?? key, bytes: Number.parseInt(size, 10), opsPerMs: v });
  }
  const sizes = [...new Set(rows.map((r) => Number(r['bytes'])))].sort((a, b) => a - b);
  return {
    name: 'pegasus-value-size', title: 'Pegasus: throughput against the value size', bench: 'pegasus', source: 'results.valueSize', rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Pegasus: throughput against the value size', subtitle: pegasusSubtitle(p, 'Zipf 0.99, 95 % reads; NetCache caches values of up to 128 B') },
      width: WIDTH, height: HEIGHT,
      data: { values: rows },
      mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'bytes', type: 'quantitative', title: 'value size (bytes, log scale)', scale: { type: 'log', base: 2 }, axis: { values: sizes, format: 'd' } },
        y: { field: 'opsPerMs', type: 'quantitative', title: sloTitle(p), scale: { zero: true } },
        color: { field: 'system', type: 'nominal', title: 'system', scale: colorScale(PEGASUS_LABELS, PEGASUS_COLORS, systemsIn(rows)) },
      },
    } as TopLevelSpec,
  };
}

const IDEAL_REF = 'uniform workload (ideal)';

export function rkeyCount(p: Pegasus): Figure {
  const rows: Row[] = Object.entries(p.results.rkeys).map(([n, v]) => ({ key: 'pegasus', system: PEGASUS_LABELS['pegasus']!, rkeys: Number(n), opsPerMs: v }));
  const counts = rows.map((r) => Number(r['rkeys'])).sort((a, b) => a - b);
  const refs: Row[] = [
    { reference: IDEAL_REF, opsPerMs: p.results.idealUniform },
    { reference: 'consistent hashing at Zipf 0.99', opsPerMs: p.results.skew['kv-hash']?.['0.99'] ?? null },
  ].filter((r) => r.opsPerMs !== null);
  return {
    name: 'pegasus-rkeys', title: 'Pegasus: throughput against the number of rkeys', bench: 'pegasus', source: 'results.rkeys', rows: [...rows, ...refs],
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Pegasus: throughput against the number of replicated keys', subtitle: pegasusSubtitle(p, 'Zipf 0.99, 95 % reads, 128-B values; 0 rkeys: hashing through Pegasus\'s switch') },
      width: WIDTH, height: HEIGHT,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'line', point: { size: 50 }, strokeWidth: 2, color: PEGASUS_COLORS['pegasus'] },
          encoding: {
            x: { field: 'rkeys', type: 'quantitative', title: 'replicated keys (rkeys) in the switch directory', axis: { values: counts, format: 'd' } },
            y: { field: 'opsPerMs', type: 'quantitative', title: sloTitle(p), scale: { zero: true } },
          },
        },
        {
          data: { values: refs },
          mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
          encoding: {
            y: { field: 'opsPerMs', type: 'quantitative' },
            color: {
              field: 'reference', type: 'nominal', title: 'reference',
              scale: { domain: refs.map((r) => r['reference']), range: refs.map((r) => (r['reference'] === IDEAL_REF ? PEGASUS_COLORS['ideal']! : PEGASUS_COLORS['kv-hash']!)) },
            },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

export function dynamicTimeline(p: Pegasus): Figure {
  const d = p.results.dynamic;
  const t = (i: number): number => d.timelineStartsMs + i * d.bucketMs;
  const rows: Row[] = [
    ...d.timelinePerMs.map((v, i) => ({ series: 'throughput (all completions)', tMs: t(i), opsPerMs: v })),
    ...d.goodputTimelinePerMs.map((v, i) => ({ series: 'goodput (completions within the SLO)', tMs: t(i), opsPerMs: v })),
  ];
  // p99 per bucket; -1 marks a bucket whose requests were not all answered (unbounded p99).
  const p99: Row[] = d.p99TimelineMs.map((v, i) => ({ tMs: t(i), p99Us: v < 0 ? null : v * 1000, unanswered: v < 0 }));
  const shifts: Row[] = Array.from({ length: d.shifts }, (_, k) => ({ tMs: d.firstShiftMs + k * d.periodMs, label: 'hot-in shift' }));
  const shiftLayer = {
    data: { values: shifts },
    mark: { type: 'rule', color: '#d62728', strokeDash: [6, 4], strokeWidth: 1.5 },
    encoding: { x: { field: 'tMs', type: 'quantitative' } },
  };
  const x = { field: 'tMs', type: 'quantitative', title: 'time (ms of virtual time; dashed red: 100 cold keys become the hottest)' };
  const finite = p99.map((r) => r['p99Us']).filter((v): v is number => typeof v === 'number');
  const top = Math.max(p.sloP99Ms * 1000 * 2, ...finite);
  return {
    name: 'pegasus-dynamic', title: 'Pegasus: the dynamic hot-in workload over time', bench: 'pegasus', source: 'results.dynamic', rows: [...rows, ...p99.map((r) => ({ series: 'p99', ...r })), ...shifts],
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: 'Pegasus: hot-in workload over time',
        subtitle: [
          `offered ${Math.round(d.offeredPerMs)} ops/ms (80 % of Pegasus's Zipf 0.99 figure), Zipf 0.99; seed 1, ${d.bucketMs}-ms buckets; controller epoch ${d.controllerEpochMs} ms`,
          `lower panel: green dotted, the ${Math.round(p.sloP99Ms * 1000)}-µs SLO; red ticks, buckets with requests never answered${quickNote(p.quick, `${d.shifts} shifts ${d.periodMs} ms apart`)}`,
        ],
      },
      vconcat: [
        {
          width: WIDTH, height: HEIGHT,
          layer: [
            {
              data: { values: rows },
              mark: { type: 'line', strokeWidth: 1.5 },
              encoding: {
                x, y: { field: 'opsPerMs', type: 'quantitative', title: 'operations/ms' },
                color: {
                  field: 'series', type: 'nominal', title: 'series', scale: { range: ['#7f7f7f', '#1f77b4'] }, sort: ['throughput (all completions)'],
                  legend: { orient: 'top', direction: 'horizontal', labelLimit: 400, title: null },
                },
              },
            },
            shiftLayer,
          ],
        },
        {
          width: WIDTH, height: 140,
          layer: [
            {
              data: { values: p99 },
              mark: { type: 'line', strokeWidth: 1.5, color: '#1f77b4' },
              encoding: { x, y: { field: 'p99Us', type: 'quantitative', title: 'p99 per bucket (µs, log)', scale: { type: 'log', domainMax: top } } },
            },
            {
              data: { values: p99 },
              transform: [{ filter: 'datum.unanswered' }, { calculate: String(top), as: 'top' }],
              mark: { type: 'tick', color: '#d62728', thickness: 2 },
              encoding: { x, y: { field: 'top', type: 'quantitative' } },
            },
            {
              data: { values: [{ sloUs: p.sloP99Ms * 1000 }] },
              mark: { type: 'rule', color: '#2ca02c', strokeDash: [2, 3] },
              encoding: { y: { field: 'sloUs', type: 'quantitative' } },
            },
            shiftLayer,
          ],
        },
      ],
      resolve: { scale: { color: 'independent' } },
    } as TopLevelSpec,
  };
}

/** The events of seed 1's rack failure run (the timeline's seed), in ms of virtual time. */
export function rackFailureEvents(rf: NonNullable<Pegasus['results']['rackFailure']>): { event: string; tMs: number }[] {
  const left = rf.leftAfterMsPerSeed[0];
  const joinStart = rf.joinStartAfterMsPerSeed[0];
  const join = rf.joinMsPerSeed[0];
  const events = [
    { event: 'tail rack\'s switch crashes', tMs: rf.crashAtMs },
    { event: 'the controller takes the rack out of the chain', tMs: left == null ? null : rf.crashAtMs + left },
    { event: 'the switch restarts', tMs: rf.restartAtMs },
    { event: 'the rack starts to join as the tail', tMs: joinStart == null ? null : rf.restartAtMs + joinStart },
    { event: 'the join is done (clients read there)', tMs: joinStart == null || join == null ? null : rf.restartAtMs + joinStart + join },
  ];
  return events.filter((e): e is { event: string; tMs: number } => e.tMs !== null);
}

export function rackFailureTimeline(p: Pegasus): Figure {
  const rf = p.results.rackFailure!;
  const t = (i: number): number => rf.timelineStartsMs + i * rf.bucketMs;
  const rows: Row[] = [
    ...rf.timelinePerMs.map((v, i) => ({ series: 'throughput (all completions)', tMs: t(i), opsPerMs: v })),
    ...rf.goodputTimelinePerMs.map((v, i) => ({ series: 'goodput (completions within the SLO)', tMs: t(i), opsPerMs: v })),
  ];
  const events: Row[] = rackFailureEvents(rf);
  return {
    name: 'pegasus-rack-failure', title: 'Pegasus: a rack fails and joins again', bench: 'pegasus', source: 'results.rackFailure', rows: [...rows, ...events],
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: 'Pegasus beyond the paper: a rack fails and joins again',
        subtitle: [
          `2-rack chain, 32 servers a rack, offered ${Math.round(rf.offeredPerMs)} ops/ms (60 % of Pegasus's Zipf 0.99 figure), 5 % writes; seed 1, ${rf.bucketMs}-ms buckets`,
          `the tail rack's switch is down ${rf.downMs} ms; the controller takes a rack out after ${rf.rackFailAfterMs} ms of silence${quickNote(p.quick, 'shorter phases')}`,
        ],
      },
      width: WIDTH, height: HEIGHT,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'tMs', type: 'quantitative', title: 'time (ms of virtual time)' },
            y: { field: 'opsPerMs', type: 'quantitative', title: 'operations/ms' },
            color: {
              field: 'series', type: 'nominal', scale: { range: ['#7f7f7f', '#1f77b4'] }, sort: ['throughput (all completions)'],
              legend: { orient: 'top', direction: 'horizontal', labelLimit: 400, title: null },
            },
          },
        },
        {
          data: { values: events },
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: {
            x: { field: 'tMs', type: 'quantitative' },
            strokeDash: { field: 'event', type: 'nominal', sort: null, scale: { range: [[1, 0], [8, 4], [1, 0], [2, 4], [8, 4]] }, legend: null },
            color: {
              field: 'event', type: 'nominal', title: 'event', sort: null, scale: { range: ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'] },
              legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 },
            },
          },
        },
      ],
      resolve: { scale: { color: 'independent' } },
    } as TopLevelSpec,
  };
}

export function nopaxosFigures(n: Nopaxos): Figure[] {
  return [latencyThroughput(n), dropRate(n), replicaScaling(n), failoverTimeline(n)];
}

export function pegasusFigures(p: Pegasus): Figure[] {
  return [skew(p), writeRatio(p), valueSize(p), dynamicTimeline(p), rkeyCount(p), ...(p.results.rackFailure ? [rackFailureTimeline(p)] : [])];
}
