// The deterministic scheduler of sim mode: virtual time and one event queue ordered by
// (time, sequence). Events due now go to a FIFO instead of the heap: an event scheduled for
// the current time always has a higher sequence number than every event already due now, so
// draining heap-then-FIFO preserves (time, sequence) order while most sends (same host, zero
// delay) cost an array push instead of a heap insert.

export interface SimEvent {
  time: number;
  seq: number;
  /** Cancelled events stay in the queue and are skipped when popped (lazy deletion). */
  cancelled: boolean;
  run(): void;
}

/** What the simulated network needs from a scheduler. */
export interface Clock {
  now(): number;
  schedule(delayMs: number, run: () => void): SimEvent;
}

export class SimScheduler implements Clock {
  private time = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];
  private fifo: SimEvent[] = [];
  private fifoHead = 0;
  /** Events run so far, for progress and for limits. */
  executed = 0;

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, run: () => void): SimEvent {
    return this.add(delayMs, { time: 0, seq: 0, cancelled: false, run });
  }

  /**
   * Schedule an event object the caller made (its time and sequence are set here): for hot
   * paths, where an object that runs itself saves a closure per event.
   */
  add<E extends SimEvent>(delayMs: number, ev: E): E {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0, got ${delayMs}`);
    ev.time = this.time + delayMs;
    ev.seq = this.seq++;
    if (delayMs === 0) this.fifo.push(ev);
    else this.heapPush(ev);
    return ev;
  }

  cancel(ev: SimEvent): void {
    ev.cancelled = true;
  }

  /** Number of events waiting, cancelled ones included. */
  get pending(): number {
    return this.heap.length + this.fifo.length - this.fifoHead;
  }

  /** Time of the next live event, or undefined when idle. */
  nextTime(): number | undefined {
    this.skipCancelled();
    if (this.fifoHead < this.fifo.length) return this.time;
    return this.heap.length > 0 ? this.heap[0]!.time : undefined;
  }

  /**
   * Run one event if one is due at or before `limitMs`. Returns false when there is none,
   * leaving time where it was.
   */
  step(limitMs = Infinity): boolean {
    const ev = this.popDue(limitMs);
    if (!ev) return false;
    this.executed++;
    ev.run();
    return true;
  }

  /** Move the clock forward to `timeMs` (never backward), e.g. after running all events before it. */
  advanceTo(timeMs: number): void {
    if (timeMs > this.time) this.time = timeMs;
  }

  private popDue(limitMs: number): SimEvent | undefined {
    for (;;) {
      // Heap events due now were scheduled before any FIFO event: they go first.
      const top = this.heap[0];
      if (top && top.time <= this.time) {
        this.heapPop();
        if (top.cancelled) continue;
        return top;
      }
      if (this.fifoHead < this.fifo.length) {
        const ev = this.fifo[this.fifoHead]!;
        this.fifo[this.fifoHead++] = undefined as unknown as SimEvent;
        if (this.fifoHead === this.fifo.length) {
          this.fifo = [];
          this.fifoHead = 0;
        }
        if (ev.cancelled) continue;
        return ev;
      }
      if (!top || top.time > limitMs) return undefined;
      this.time = top.time;
    }
  }

  private skipCancelled(): void {
    while (this.fifoHead < this.fifo.length && this.fifo[this.fifoHead]!.cancelled) this.fifoHead++;
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.heapPop();
  }

  private heapPush(ev: SimEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (p.time < ev.time || (p.time === ev.time && p.seq < ev.seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(h[r]!, h[l]!)) c = r;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
