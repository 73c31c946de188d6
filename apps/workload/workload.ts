// Skewed key-value workloads, as in the Pegasus artifact: a key space of up to millions of keys
// drawn by Zipf popularity (skew 0 to 1.4), a read ratio, value sizes (fixed or a
// distribution), and dynamic patterns that move popularity over time:
//   hot-in   every period, the `count` coldest keys jump to the top (the rest move down),
//   random   every period, `count` random pairs of keys within the top `topK` swap places,
//   hot-out  every period, the `count` hottest keys drop to the bottom (the rest move up).
// Every sample is O(1): ranks come from the rejection-inversion sampler, a rank becomes a key
// through a rotation (hot-in, hot-out) or a small swap table (random), then a fixed scramble,
// so popular keys are spread over the servers instead of being neighbours.
import { ZipfSampler } from './zipf.ts';

export type ValueSize =
  | { readonly kind: 'fixed'; readonly bytes: number }
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  /** One of `sizes` with the given weights. */
  | { readonly kind: 'choice'; readonly sizes: readonly number[]; readonly weights: readonly number[] };

/** Dynamic patterns change popularity at startMs + periodMs, startMs + 2 periodMs, ... (startMs default 0). */
export type DynamicPattern =
  | { readonly kind: 'static' }
  | { readonly kind: 'hot-in'; readonly periodMs: number; readonly count: number; readonly startMs?: number }
  | { readonly kind: 'hot-out'; readonly periodMs: number; readonly count: number; readonly startMs?: number }
  | { readonly kind: 'random'; readonly periodMs: number; readonly count: number; readonly topK: number; readonly startMs?: number };

export interface WorkloadSpec {
  /** Keys k0 .. k(keys-1). */
  readonly keys: number;
  /** Zipf skew; 0 is uniform. */
  readonly zipf: number;
  /** Fraction of operations that are reads (the rest are writes). */
  readonly readRatio: number;
  readonly valueSize: ValueSize;
  readonly pattern?: DynamicPattern;
}

export const DEFAULT_WORKLOAD: WorkloadSpec = { keys: 100_000, zipf: 0.99, readRatio: 0.95, valueSize: { kind: 'fixed', bytes: 128 } };

export interface WorkloadOp {
  readonly read: boolean;
  /** Key number in 0..keys-1. */
  readonly key: number;
}

/** Upper bound on `topK` of the random pattern (its swap table has that many entries). */
export const MAX_RANDOM_TOPK = 1_000_000;

/**
 * The key chooser of one client. Dynamic patterns advance with the time passed to `next`, so
 * every client of a run, on one clock, sees the same popularity at the same moment; the random
 * pattern's swaps come from a stream seeded by the spec, identical in every client.
 */
export class Workload {
  private readonly zipf: ZipfSampler;
  private readonly stride: number;
  /** hot-in / hot-out: how far the rank order has rotated. */
  private shift = 0;
  private epoch = 0;
  /** random pattern: rank -> rank within the top K (identity until swapped). */
  private readonly swaps: Int32Array | undefined;
  private swapState = 0x9e3779b9;

  constructor(readonly spec: WorkloadSpec) {
    if (!(spec.keys >= 1 && spec.keys <= 50_000_000 && Number.isInteger(spec.keys))) throw new RangeError('workload: keys must be a positive integer');
    if (!(spec.readRatio >= 0 && spec.readRatio <= 1)) throw new RangeError('workload: readRatio must be in [0, 1]');
    this.zipf = new ZipfSampler(spec.keys, spec.zipf);
    this.stride = coprimeStride(spec.keys);
    const p = spec.pattern;
    if (p?.kind === 'random') {
      const k = Math.min(p.topK, spec.keys);
      if (!(k >= 2 && k <= MAX_RANDOM_TOPK)) throw new RangeError(`workload: random pattern topK must be 2..${MAX_RANDOM_TOPK}`);
      this.swaps = new Int32Array(k);
      for (let i = 0; i < k; i++) this.swaps[i] = i;
    }
  }

  /** The key of popularity rank `rank` (1 = hottest) at this moment. */
  keyOfRank(rank: number): number {
    const n = this.spec.keys;
    let r = rank - 1;
    const p = this.spec.pattern;
    if (p?.kind === 'hot-in') r = mod(r - this.shift, n);
    else if (p?.kind === 'hot-out') r = mod(r + this.shift, n);
    else if (this.swaps && r < this.swaps.length) r = this.swaps[r]!;
    return scramble(r, n, this.stride);
  }

  /** Bring dynamic patterns up to time `nowMs`. */
  advance(nowMs: number): void {
    const p = this.spec.pattern;
    if (!p || p.kind === 'static') return;
    const epoch = Math.max(0, Math.floor((nowMs - (p.startMs ?? 0)) / p.periodMs));
    while (this.epoch < epoch) {
      this.epoch++;
      if (p.kind === 'hot-in' || p.kind === 'hot-out') {
        this.shift = (this.shift + p.count) % this.spec.keys;
      } else {
        const s = this.swaps!;
        for (let i = 0; i < p.count; i++) {
          const a = this.nextSwap() % s.length;
          const b = this.nextSwap() % s.length;
          const t = s[a]!;
          s[a] = s[b]!;
          s[b] = t;
        }
      }
    }
  }

  /** The next operation at time `nowMs`. */
  next(random: () => number, nowMs: number): WorkloadOp {
    this.advance(nowMs);
    const read = random() < this.spec.readRatio;
    return { read, key: this.keyOfRank(this.zipf.sample(random)) };
  }

  /** Size of key `key`'s values: a stable function of the key, so a key keeps its size class. */
  valueBytes(key: number): number {
    return valueBytesOf(this.spec.valueSize, key);
  }

  private nextSwap(): number {
    // xorshift32: the same swaps in every client of a run.
    let x = this.swapState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.swapState = x >>> 0;
    return this.swapState;
  }
}

export function keyName(key: number): string {
  return `k${key}`;
}

export function valueBytesOf(v: ValueSize, key: number): number {
  switch (v.kind) {
    case 'fixed':
      return v.bytes;
    case 'uniform':
      return v.min + (hashInt(key) % (v.max - v.min + 1));
    case 'choice': {
      const total = v.weights.reduce((a, b) => a + b, 0);
      let x = (hashInt(key) / 0x100000000) * total;
      for (let i = 0; i < v.sizes.length; i++) {
        x -= v.weights[i]!;
        if (x < 0) return v.sizes[i]!;
      }
      return v.sizes[v.sizes.length - 1]!;
    }
  }
}

/** A 32-bit mix of an integer (murmur3's finaliser). */
export function hashInt(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

/** A bijection of 0..n-1 that spreads neighbours apart: multiply by a stride coprime to n. */
function scramble(r: number, n: number, stride: number): number {
  // Exact while r * stride < 2^53, which holds for n up to about 90 million keys.
  return (r * stride) % n;
}

function coprimeStride(n: number): number {
  if (n <= 2) return 1;
  let s = Math.floor(n * 0.6180339887) | 1;
  while (gcd(s, n) !== 1) s += 2;
  return s % n === 0 ? 1 : s;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
