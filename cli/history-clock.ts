// The common time base of histories that several processes record (node --history-out, merged by
// launch --check and the distributed tests): milliseconds since the epoch, each process mapping its
// node's clock (ctx.now(), from when the node started) onto it as it writes its history.
//
// Two ways, by where the processes run:
//  - on one machine (launch, the tests): the launcher takes one anchor, the offset from this
//    machine's monotonic clock (CLOCK_MONOTONIC, the same clock in every process) to the wall
//    clock, and hands it to every process it starts (SWITCHBOARD_CLOCK_ANCHOR). Each maps its
//    node's clock onto the monotonic clock (the two tick together: both come from it) and adds
//    the anchor, so the processes agree to within BRACKET_MS, whatever their wall clock reads;
//  - across machines (no anchor): each reads the wall clock at the moment its millisecond ticks
//    over; the machines' clocks must agree (NTP), to within the checker's slack.
// Node's performance.timeOrigin, used at first, is taken as the process starts and was found 29 ms
// off in 1 of 30 processes started on a loaded machine: enough to make a linearizable run look
// otherwise (docs/nopaxos.md, "A non-linearizable distributed run").

/** A clock in milliseconds. */
export type Clock = () => number;

/** Set by launch (and the distributed tests) for the processes they start on their own machine. */
export const CLOCK_ANCHOR_ENV = 'SWITCHBOARD_CLOCK_ANCHOR';

/** This machine's monotonic clock: the same in every process on it. */
export const monotonicMs: Clock = () => Number(process.hrtime.bigint()) / 1e6;

/** A reading wider than this means the process was descheduled within it: it is taken again. */
const BRACKET_MS = 0.05;
const ATTEMPTS = 20;

/** The anchor to hand the processes started on this machine: wall clock minus monotonic clock. */
export function takeAnchor(mono: Clock = monotonicMs, wall: Clock = Date.now): number {
  return tickOffset(mono, wall);
}

/** The anchor given in `value` (the environment's, usually); undefined if none. */
export function parseAnchor(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${CLOCK_ANCHOR_ENV}='${value}' is not an offset in milliseconds (launch sets it; unset it to use the wall clock)`);
  return n;
}

/** Milliseconds since the epoch now, on the anchor's time base (for a launcher's own records). */
export function anchoredNowMs(anchor: number, mono: Clock = monotonicMs): number {
  return mono() + anchor;
}

/** What to add to `node` (a node's clock) to get milliseconds since the epoch, on the anchor's base if given. */
export function epochOffsetMs(node: Clock, opts: { readonly anchor?: number | undefined; readonly mono?: Clock; readonly wall?: Clock } = {}): number {
  return opts.anchor === undefined
    ? tickOffset(node, opts.wall ?? Date.now)
    : clockOffset(node, opts.mono ?? monotonicMs) + opts.anchor;
}

/** The narrowest of up to ATTEMPTS readings, each { width, offset }: stop at one narrower than BRACKET_MS. */
function narrowest(read: () => { width: number; offset: number }): number {
  let best = { width: Infinity, offset: 0 };
  for (let i = 0; i < ATTEMPTS && best.width > BRACKET_MS; i++) {
    const r = read();
    if (r.width < best.width) best = r;
  }
  return best.offset;
}

/** other() - from(), for two continuous clocks: `from` read between two readings of `other`. */
function clockOffset(from: Clock, other: Clock): number {
  return narrowest(() => {
    const before = other();
    const at = from();
    const after = other();
    return { width: after - before, offset: (before + after) / 2 - at };
  });
}

/**
 * wall() - from(), for a wall clock in whole milliseconds: read at the moment its millisecond ticks
 * over, the tick placed between two readings of `from`.
 */
function tickOffset(from: Clock, wall: Clock): number {
  return narrowest(() => {
    let lastBefore = from();
    const start = wall();
    for (;;) {
      const before = from();
      const w = wall();
      const after = from();
      // The tick came after the last reading of `start` (so after `lastBefore`) and before `after`.
      if (w !== start) return { width: after - lastBefore, offset: w - (lastBefore + after) / 2 };
      lastBefore = before;
    }
  });
}
