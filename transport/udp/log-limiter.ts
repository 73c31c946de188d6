// Rate limit for logs about bad input: a flood of bad datagrams must not become a flood of log
// lines (that would let anyone on the network fill the disk and burn the CPU). One line per key
// (reason and source) per interval; the lines held back are counted and reported with the next.

export const DEFAULT_LOG_INTERVAL_MS = 1000;
/** Keys remembered at most; past it the table is emptied, which at worst lets one more line through per key. */
const MAX_KEYS = 1024;

export class LogLimiter {
  private readonly lastMs = new Map<string, { atMs: number; suppressed: number }>();

  constructor(private readonly intervalMs = DEFAULT_LOG_INTERVAL_MS) {}

  /**
   * Whether to log now for `key`; when it says yes it returns how many lines were held back
   * since the last one, otherwise null.
   */
  admit(key: string, nowMs: number): number | null {
    const entry = this.lastMs.get(key);
    if (entry !== undefined && nowMs - entry.atMs < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    if (entry === undefined && this.lastMs.size >= MAX_KEYS) this.lastMs.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.lastMs.set(key, { atMs: nowMs, suppressed: 0 });
    return suppressed;
  }
}
