// The common time base of histories recorded by several processes (cli/history-clock.ts): each
// maps its node's clock to milliseconds since the epoch when it writes its history; on one
// machine through a clock anchor that the launcher hands to every process, across machines from
// the wall clock's tick. Node's performance.timeOrigin, used at first, was found tens of
// milliseconds off on a loaded machine; the mapping must not depend on it, nor on the process
// running without a pause while it reads the clocks. Most clocks here are simulated, so that the
// tests do not depend on the machine's timing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { anchoredNowMs, epochOffsetMs, monotonicMs, parseAnchor, takeAnchor, type Clock } from '../../cli/history-clock.ts';

const EPOCH_AT_START = 1_790_000_000_123.4; // the wall clock's true time when the machine started

/**
 * A simulated machine: true time advances `stepMs` per clock reading, and by `pauseMs` more at
 * the readings listed in `pauses` (the process descheduled). The monotonic clock counts from the
 * machine's start; a node's clock from the node's start (`nodeStartMs` later); the wall clock is
 * the epoch time in whole milliseconds, as Date.now gives it, `wallErrorMs` off.
 */
function machine(stepMs: number, pauses: Map<number, number> = new Map()) {
  let t = 0;
  let readings = 0;
  const advance = (): number => { t += stepMs + (pauses.get(readings++) ?? 0); return t; };
  return {
    mono: advance,
    node: (nodeStartMs: number): Clock => () => advance() - nodeStartMs,
    wall: (wallErrorMs = 0): Clock => () => Math.floor(EPOCH_AT_START + wallErrorMs + advance()),
    /** The epoch time of node time `x` of a node started at `nodeStartMs`, truly. */
    epochOf: (nodeStartMs: number, x: number): number => EPOCH_AT_START + nodeStartMs + x,
  };
}

describe('history time base', () => {
  it('without an anchor: maps a node\'s clock to the wall clock to within the time of one clock reading', () => {
    for (const stepMs of [0.0003, 0.002, 0.01]) {
      const m = machine(stepMs);
      const err = epochOffsetMs(m.node(0), { wall: m.wall() }) - EPOCH_AT_START;
      assert.ok(Math.abs(err) <= 3 * stepMs, `${err.toFixed(4)} ms off with ${stepMs} ms per reading`);
    }
  });

  it('without an anchor: reads the clocks again when the process is paused at the tick (2 ms, as seen in CI)', () => {
    // Pauses at the first few readings around each attempt's tick: the narrowest bracket wins.
    const pauses = new Map<number, number>();
    for (let r = 0; r < 12; r++) pauses.set(r * 50 + 7, 2);
    const m = machine(0.001, pauses);
    const err = epochOffsetMs(m.node(0), { wall: m.wall() }) - EPOCH_AT_START;
    assert.ok(Math.abs(err) <= 0.01, `${err.toFixed(4)} ms off the wall clock`);
  });

  it('with an anchor: processes started at different times agree, whatever their own reading of the wall clock', () => {
    const pauses = new Map<number, number>([[1, 3], [4, 2], [9, 5]]);
    const m = machine(0.001, pauses);
    // The launcher's anchor is 0.7 ms off (its own wall reading); every process shares the error.
    const anchor = takeAnchor(m.mono, m.wall(0.7));
    const starts = [5, 250.25, 1000.5];
    const offsets = starts.map((s) => epochOffsetMs(m.node(s), { anchor, mono: m.mono, wall: () => { throw new Error('the wall clock is not read'); } }));
    // One instant, node time x in the first node: each maps it to the same epoch time.
    const x = 2000;
    const mapped = starts.map((s, k) => x + starts[0]! - s + offsets[k]!);
    for (const v of mapped) assert.ok(Math.abs(v - mapped[0]!) <= 0.005, `${mapped.map((y) => y.toFixed(4)).join(' / ')}`);
    assert.ok(Math.abs(mapped[0]! - m.epochOf(starts[0]!, x) - 0.7) <= 0.05, 'the shared error is the anchor\'s');
  });

  it('with an anchor: the machine\'s monotonic clock is the same in another process', () => {
    const before = monotonicMs();
    const child = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(Number(process.hrtime.bigint()) / 1e6))']).toString());
    const after = monotonicMs();
    assert.ok(before <= child && child <= after, `${before} <= ${child} <= ${after}`);
  });

  it('does not use performance.timeOrigin (set 40 ms late here, as under load)', () => {
    const node: Clock = () => performance.now() - 5000;
    const real = Object.getOwnPropertyDescriptor(performance, 'timeOrigin');
    Object.defineProperty(performance, 'timeOrigin', { value: performance.timeOrigin + 40, configurable: true });
    try {
      // The real clocks: the best of five readings, so that a pause of this test itself between
      // two statements cannot fail it; the error it guards against is 40 ms in every reading.
      const wallErrs = Array.from({ length: 5 }, () => Math.abs(epochOffsetMs(node) + node() - Date.now()));
      assert.ok(Math.min(...wallErrs) <= 2, `${Math.min(...wallErrs).toFixed(3)} ms off the wall clock`);
      const anchor = takeAnchor();
      const anchoredErrs = Array.from({ length: 5 }, () => Math.abs(epochOffsetMs(node, { anchor }) + node() - anchoredNowMs(anchor)));
      assert.ok(Math.min(...anchoredErrs) <= 0.5, `${Math.min(...anchoredErrs).toFixed(3)} ms off the anchored clock`);
    } finally {
      if (real) Object.defineProperty(performance, 'timeOrigin', real);
      else delete (performance as unknown as Record<string, unknown>).timeOrigin;
    }
  });

  it('refuses an anchor that is not an offset in milliseconds, naming the variable', () => {
    assert.equal(parseAnchor(undefined), undefined);
    assert.equal(parseAnchor(''), undefined);
    assert.equal(parseAnchor('1790000000123.5'), 1790000000123.5);
    for (const bad of ['soon', '-5', 'NaN', 'Infinity']) assert.throws(() => parseAnchor(bad), /SWITCHBOARD_CLOCK_ANCHOR='.*' is not an offset in milliseconds/);
  });
});
