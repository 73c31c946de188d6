// The workload generator: Zipf samples follow the exact distribution at every skew, patterns
// move popularity as specified, value sizes are stable per key, and percentiles are exact.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../actors/index.ts';
import { ZipfSampler } from '../../apps/workload/zipf.ts';
import { Workload, valueBytesOf } from '../../apps/workload/workload.ts';
import { percentile, summarise } from '../../apps/workload/stats.ts';

describe('zipf sampler', () => {
  for (const s of [0, 0.5, 0.99, 1, 1.2, 1.4]) {
    it(`matches the exact probabilities of the top ranks at skew ${s}`, () => {
      const n = 1000;
      const z = new ZipfSampler(n, s);
      const rng = seededRandom(7, `zipf${s}`);
      const draws = 200_000;
      const counts = new Array<number>(n + 1).fill(0);
      for (let i = 0; i < draws; i++) {
        const k = z.sample(rng.next);
        assert.ok(k >= 1 && k <= n);
        counts[k]!++;
      }
      for (const k of [1, 2, 5, 10, 100]) {
        const p = z.probability(k);
        const sd = Math.sqrt(draws * p * (1 - p));
        assert.ok(Math.abs(counts[k]! - draws * p) < 5 * sd + 5, `rank ${k}: ${counts[k]} vs ${(draws * p).toFixed(0)}`);
      }
    });
  }

  it('costs O(1) per sample whatever the key count (a million keys)', () => {
    // A sample's only loop is its rejection step, one uniform draw a try: counting the draws
    // measures the cost without a clock. Rejection-inversion accepts almost every try, at any n.
    for (const s of [0, 0.99, 1.2]) {
      for (const n of [1000, 1_000_000]) {
        const z = new ZipfSampler(n, s);
        const rng = seededRandom(1);
        let draws = 0;
        const counted = (): number => { draws++; return rng.next(); };
        const samples = 50_000;
        for (let i = 0; i < samples; i++) {
          const k = z.sample(counted);
          assert.ok(k >= 1 && k <= n);
        }
        assert.ok(draws / samples < 1.1, `skew ${s}, ${n} keys: ${(draws / samples).toFixed(3)} draws a sample`);
      }
    }
    // At skew 1.2 the hottest key draws about a fifth of all requests (the bench's bound for hashing).
    assert.ok(Math.abs(new ZipfSampler(100_000, 1.2).probability(1) - 0.19) < 0.02);
  });
});

describe('workload', () => {
  it('hot-in moves the coldest keys to the top every period', () => {
    const w = new Workload({ keys: 1000, zipf: 1, readRatio: 1, valueSize: { kind: 'fixed', bytes: 8 }, pattern: { kind: 'hot-in', periodMs: 10, count: 100 } });
    const top0 = w.keyOfRank(1);
    const coldest = w.keyOfRank(1000 - 99);
    w.advance(10);
    assert.equal(w.keyOfRank(1), coldest, 'the 100th coldest key is now the hottest');
    assert.equal(w.keyOfRank(101), top0, 'the old hottest moved down 100 ranks');
  });

  it('a pattern with startMs first changes popularity one period after it', () => {
    const w = new Workload({ keys: 1000, zipf: 1, readRatio: 1, valueSize: { kind: 'fixed', bytes: 8 }, pattern: { kind: 'hot-in', periodMs: 10, count: 100, startMs: 25 } });
    const top0 = w.keyOfRank(1);
    w.advance(34);
    assert.equal(w.keyOfRank(1), top0, 'no shift before startMs + periodMs');
    w.advance(35);
    assert.notEqual(w.keyOfRank(1), top0);
    assert.equal(w.keyOfRank(101), top0);
  });

  it('hot-out and random keep a permutation of the keys', () => {
    for (const pattern of [{ kind: 'hot-out', periodMs: 1, count: 7 }, { kind: 'random', periodMs: 1, count: 50, topK: 100 }] as const) {
      const w = new Workload({ keys: 500, zipf: 1, readRatio: 1, valueSize: { kind: 'fixed', bytes: 8 }, pattern });
      w.advance(5);
      const keys = new Set(Array.from({ length: 500 }, (_, r) => w.keyOfRank(r + 1)));
      assert.equal(keys.size, 500);
    }
  });

  it('gives each key a stable value size from the distribution, and the read ratio asked for', () => {
    const v = { kind: 'choice', sizes: [64, 4096], weights: [9, 1] } as const;
    assert.equal(valueBytesOf(v, 42), valueBytesOf(v, 42));
    const big = Array.from({ length: 10_000 }, (_, k) => valueBytesOf(v, k)).filter((b) => b === 4096).length;
    assert.ok(big > 800 && big < 1200);
    const w = new Workload({ keys: 100, zipf: 0.9, readRatio: 0.9, valueSize: { kind: 'fixed', bytes: 8 } });
    const rng = seededRandom(3);
    let reads = 0;
    for (let i = 0; i < 10_000; i++) if (w.next(rng.next, 0).read) reads++;
    assert.ok(reads > 8800 && reads < 9200);
  });

  it('computes nearest-rank percentiles', () => {
    const s = summarise(Array.from({ length: 100 }, (_, i) => 100 - i));
    assert.equal(s.p50Ms, 50);
    assert.equal(s.p99Ms, 99);
    assert.equal(percentile([1, 2, 3], 1), 3);
  });
});
