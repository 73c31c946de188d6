// The common time base of histories recorded by several processes: each maps its node's clock
// to the wall clock when it writes its history. Node's performance.timeOrigin, used before, is
// taken as the process starts and was found tens of milliseconds off on a loaded machine; the
// mapping must not depend on it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { epochOffsetMs } from '../../cli/builders/common.ts';
import type { NodeRuntime } from '../../actors/index.ts';

describe('history time base', () => {
  it('maps a node\'s clock to the wall clock to within a millisecond, whatever performance.timeOrigin says', () => {
    const node = { now: () => performance.now() - 5000 } as unknown as NodeRuntime;
    const real = Object.getOwnPropertyDescriptor(performance, 'timeOrigin');
    // A process whose time origin was taken 40 ms late (as under load).
    Object.defineProperty(performance, 'timeOrigin', { value: performance.timeOrigin + 40, configurable: true });
    try {
      for (let i = 0; i < 5; i++) {
        const err = epochOffsetMs(node) + node.now() - Date.now();
        assert.ok(err >= -1 && err <= 1, `${err.toFixed(3)} ms off the wall clock`);
      }
    } finally {
      if (real) Object.defineProperty(performance, 'timeOrigin', real);
      else delete (performance as unknown as Record<string, unknown>).timeOrigin;
    }
  });
});
