// Pegasus's invariant, checked as clients complete operations (DESIGN.md "Correctness"):
// reads never return a version older than one already returned. Every version a client saw
// (a read's or a write's) completed at some time; a read invoked after that time must return
// at least that version. Each key keeps its completions as a staircase of (time, highest
// version so far), so a check is a binary search.

export class PegasusInvariants {
  private readonly steps = new Map<string, { times: number[]; vers: number[] }>();
  readonly violations: string[] = [];
  checked = 0;

  /** An operation on `key` invoked at `startMs` completed at `endMs` with version `ver`. */
  completed(key: string, ver: number, read: boolean, startMs: number, endMs: number): void {
    let st = this.steps.get(key);
    if (!st) this.steps.set(key, (st = { times: [], vers: [] }));
    if (read) {
      this.checked++;
      const floor = maxBefore(st, startMs);
      if (ver < floor && this.violations.length < 100) {
        this.violations.push(`read of ${key} invoked at ${startMs.toFixed(4)} ms returned version ${ver}, older than ${floor} completed before it`);
      }
    }
    // Completions arrive in time order (one clock), so the staircase stays sorted.
    const top = st.vers.length > 0 ? st.vers[st.vers.length - 1]! : 0;
    if (ver > top) {
      st.times.push(endMs);
      st.vers.push(ver);
    }
  }
}

function maxBefore(st: { times: number[]; vers: number[] }, t: number): number {
  let lo = 0;
  let hi = st.times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (st.times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : st.vers[lo - 1]!;
}
