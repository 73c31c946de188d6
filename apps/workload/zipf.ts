// Zipf-distributed ranks in O(1) per sample: rejection-inversion sampling (W. Hörmann and
// G. Derflinger, "Rejection-inversion to generate variates from monotone discrete
// distributions", ACM TOMACS 1996). Rank k in 1..n has probability proportional to k^-s, for
// any skew s >= 0 (s = 0 is uniform). No table of n entries is built, so a million keys cost
// nothing to set up, and a sample takes a few logarithms with rarely more than one try.
//
// The idea: the integral H of the density h(x) = x^-s is inverted in closed form; a uniform
// point under the integral, mapped back through H^-1 and rounded, is accepted when it falls
// within the bar of its integer (it almost always does).

export class ZipfSampler {
  private readonly hX1: number;
  private readonly hN: number;
  private readonly sBound: number;

  constructor(readonly n: number, readonly s: number) {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`zipf: n must be a positive integer, got ${n}`);
    if (!(s >= 0 && Number.isFinite(s))) throw new RangeError(`zipf: skew must be >= 0, got ${s}`);
    this.hX1 = this.H(1.5) - 1;
    this.hN = this.H(n + 0.5);
    this.sBound = 2 - this.Hinv(this.H(2.5) - this.h(2));
  }

  /** A rank in 1..n (1 is the most popular), from uniform draws `random()` in [0, 1). */
  sample(random: () => number): number {
    for (;;) {
      const u = this.hN + random() * (this.hX1 - this.hN);
      const x = this.Hinv(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.sBound || u >= this.H(k + 0.5) - this.h(k)) return k;
    }
  }

  /** The exact probability of rank k (sums the normaliser once; for tests and figures). */
  probability(k: number): number {
    let z = 0;
    for (let i = 1; i <= this.n; i++) z += Math.pow(i, -this.s);
    return Math.pow(k, -this.s) / z;
  }

  /** h(x) = x^-s */
  private h(x: number): number {
    return Math.exp(-this.s * Math.log(x));
  }

  /** H(x) = (x^(1-s) - 1) / (1-s), or log x at s = 1: an integral of h. */
  private H(x: number): number {
    const lx = Math.log(x);
    return expm1OverX((1 - this.s) * lx) * lx;
  }

  private Hinv(x: number): number {
    let t = x * (1 - this.s);
    if (t < -1) t = -1; // rounding at the edge of the domain
    return Math.exp(log1pOverX(t) * x);
  }
}

/** log(1+x)/x, continuous at 0. */
function log1pOverX(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** (e^x - 1)/x, continuous at 0. */
function expm1OverX(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}
