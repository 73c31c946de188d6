// Runs simulations in step with the wall clock, so that a person can watch them: every tick,
// each simulation advances to where its virtual clock should be by now (speed x wall time since
// start), in small slices, within a CPU budget per tick so that the server stays responsive.
// A simulation that cannot keep up falls behind, and past MAX_LAG_MS its target is moved back
// rather than letting it race to catch up: time in it then runs slower than the wall clock (the
// page shows the speed), but it never jumps.
import type { SimRuntime } from '../actors/index.ts';

const TICK_MS = 20;
/** Wall time a tick may spend simulating, all simulations together. */
const BUDGET_MS = 12;
/** Virtual time per advance() call: the budget is checked between slices. */
const SLICE_MS = 2;
const MAX_LAG_MS = 250;

interface Paced {
  sim: SimRuntime;
  /** Virtual time at wallBase. */
  base: number;
  wallBase: number;
}

export class Pacer {
  private readonly paced: Paced[];
  private timer: NodeJS.Timeout | undefined;

  constructor(sims: readonly SimRuntime[], private readonly speed = 1) {
    if (!(speed > 0)) throw new RangeError('speed must be > 0');
    const now = performance.now();
    this.paced = sims.map((sim) => ({ sim, base: sim.now(), wallBase: now }));
  }

  start(): void {
    const now = performance.now();
    for (const p of this.paced) {
      p.base = p.sim.now();
      p.wallBase = now;
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Pace `next` in place of `old` from now on (a fresh run of a system). */
  replace(old: SimRuntime, next: SimRuntime): void {
    const p = this.paced.find((x) => x.sim === old);
    if (!p) throw new Error('replace: that simulation is not paced here');
    p.sim = next;
    p.base = next.now();
    p.wallBase = performance.now();
  }

    stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const t0 = performance.now();
    const share = BUDGET_MS / this.paced.length;
    for (const p of this.paced) {
      const target = p.base + (t0 - p.wallBase) * this.speed;
      const until = performance.now() + share;
      while (p.sim.now() < target && performance.now() < until) p.sim.advance(Math.min(SLICE_MS, target - p.sim.now()));
      if (target - p.sim.now() > MAX_LAG_MS) {
        p.base = p.sim.now();
        p.wallBase = t0;
      }
    }
  }
}
