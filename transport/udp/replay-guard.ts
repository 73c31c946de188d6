// Replay defence for UDP: every sender numbers its datagrams to each receiver (sequence, from 1)
// within an incarnation (a number that rises across the sender's restarts). A receiver accepts a
// (incarnation, sequence) once: a sliding window remembers the last WINDOW sequences, anything
// older than the window or from an earlier incarnation is refused. It is the IPsec/DTLS
// anti-replay window (RFC 4303 §3.4.3, RFC 6479), kept as a ring of bits so that accepting a
// datagram costs O(1) in the usual case of sequences arriving nearly in order.

export const DEFAULT_REPLAY_WINDOW = 1024;
/** Senders remembered at most; beyond it the one first heard from is forgotten. */
export const DEFAULT_MAX_SENDERS = 4096;

export type ReplayVerdict =
  /** First datagram of this sender, or of a new incarnation of it (it restarted). */
  | 'first'
  | 'fresh'
  | 'duplicate'
  | 'too-old'
  | 'old-incarnation';

/** The window of one sender. */
export class ReplayWindow {
  private incarnation = -1;
  private highest = 0;
  private readonly seen: Uint8Array;

  constructor(private readonly windowSize = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new RangeError(`replay window ${windowSize} must be a positive integer`);
    this.seen = new Uint8Array(windowSize);
  }

  /** Accept (and remember) or refuse one datagram number. */
  accept(incarnation: number, sequence: number): ReplayVerdict {
    if (incarnation < this.incarnation) return 'old-incarnation';
    if (incarnation > this.incarnation) {
      this.restart(incarnation, sequence);
      return 'first';
    }
    if (sequence > this.highest) {
      this.advance(sequence);
      return 'fresh';
    }
    if (this.highest - sequence >= this.windowSize) return 'too-old';
    const slot = sequence % this.windowSize;
    if (this.seen[slot] === 1) return 'duplicate';
    this.seen[slot] = 1;
    return 'fresh';
  }

  private restart(incarnation: number, sequence: number): void {
    this.incarnation = incarnation;
    this.seen.fill(0);
    this.highest = sequence;
    this.seen[sequence % this.windowSize] = 1;
  }

  /** Move the window's top to `sequence`, forgetting the slots it passes over. */
  private advance(sequence: number): void {
    const gap = sequence - this.highest;
    if (gap >= this.windowSize) {
      this.seen.fill(0);
    } else {
      for (let s = this.highest + 1; s < sequence; s++) this.seen[s % this.windowSize] = 0;
    }
    this.highest = sequence;
    this.seen[sequence % this.windowSize] = 1;
  }
}

/** Windows for every sender heard from, bounded in number. */
export class ReplayGuard {
  private readonly windows = new Map<string, ReplayWindow>();

  constructor(
    private readonly windowSize = DEFAULT_REPLAY_WINDOW,
    private readonly maxSenders = DEFAULT_MAX_SENDERS,
  ) {}

  accept(sender: string, incarnation: number, sequence: number): ReplayVerdict {
    let window = this.windows.get(sender);
    if (window === undefined) {
      if (this.windows.size >= this.maxSenders) this.forgetOldest();
      window = new ReplayWindow(this.windowSize);
      this.windows.set(sender, window);
    }
    return window.accept(incarnation, sequence);
  }

  /**
   * Forgetting a sender lets its current incarnation's datagrams be replayed once more; only a
   * cluster with more than maxSenders hosts sharing the secret gets here.
   */
  private forgetOldest(): void {
    const oldest = this.windows.keys().next();
    if (!oldest.done) this.windows.delete(oldest.value);
  }
}
