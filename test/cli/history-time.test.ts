// The common time base of histories recorded by several processes: each maps its node's clock
// to the wall clock when it writes its history. Node's performance.timeOrigin, used before, is
// taken as the process starts and was found tens of milliseconds off on a loaded machine; the
// mapping must not depend on it, nor on the process running without a pause while it reads the
// clocks. The clocks here are simulated, so the test does not depend on the machine's timing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { epochOffsetMs } from '../../cli/builders/common.ts';
import type { NodeRuntime } from '../../actors/index.ts';

const EPOCH_AT_START = 1_790_000_000_123.4; // the wall clock's true time when the node started

/**
 * A simulated machine: true time advances `stepMs` per clock reading, and by `pauseMs` more at
 * the readings listed in `pauses` (the process descheduled). The node's clock counts from its
 * start; the wall clock is the epoch time in whole milliseconds, as Date.now gives it.
 */
function machine(stepMs: number, pauses: Map<number, number> = new Map()) {
  let t = 0;
  let readings = 0;
  const advance = (): number => { t += stepMs + (pauses.get(readings++) ?? 0); return t; };
  const node = { now: advance } as unknown as NodeRuntime;
  const wallMs = (): number => Math.floor(EPOCH_AT_START + advance());
  return { node, wallMs, trueOffset: EPOCH_AT_START };
}

describe('history time base', () => {
  it('maps a node\'s clock to the wall clock to within the time of one clock reading', () => {
    for (const stepMs of [0.0003, 0.002, 0.01]) {
      const m = machine(stepMs);
      const err = epochOffsetMs(m.node, m.wallMs) - m.trueOffset;
      assert.ok(Math.abs(err) <= 3 * stepMs, `${err.toFixed(4)} ms off with ${stepMs} ms per reading`);
    }
  });

  it('reads the clocks again when the process is paused at the tick (2 ms, as seen in CI)', () => {
    // Pauses at the first few readings around each attempt's tick: the narrowest bracket wins.
    const pauses = new Map<number, number>();
    for (let r = 0; r < 12; r++) pauses.set(r * 50 + 7, 2);
    const m = machine(0.001, pauses);
    const err = epochOffsetMs(m.node, m.wallMs) - m.trueOffset;
    assert.ok(Math.abs(err) <= 0.01, `${err.toFixed(4)} ms off the wall clock`);
  });

  it('does not use performance.timeOrigin (set 40 ms late here, as under load)', () => {
    const node = { now: () => performance.now() - 5000 } as unknown as NodeRuntime;
    const real = Object.getOwnPropertyDescriptor(performance, 'timeOrigin');
    Object.defineProperty(performance, 'timeOrigin', { value: performance.timeOrigin + 40, configurable: true });
    try {
      // The real clocks: the best of five readings, so that a pause of this test itself between
      // two statements cannot fail it; the error it guards against is 40 ms in every reading.
      const errs = Array.from({ length: 5 }, () => Math.abs(epochOffsetMs(node) + node.now() - Date.now()));
      assert.ok(Math.min(...errs) <= 2, `${Math.min(...errs).toFixed(3)} ms off the wall clock`);
    } finally {
      if (real) Object.defineProperty(performance, 'timeOrigin', real);
      else delete (performance as unknown as Record<string, unknown>).timeOrigin;
    }
  });
});
