// Trace recording: every message an actor processes, in order, folded into a 64-bit hash.
// Same seed and same code give the same trace hash; a different hash for the same seed is
// non-determinism (a wall-clock read, Math.random, iteration over an unordered structure...).
import { createHash } from 'node:crypto';
import superjson from 'superjson';
import type { Address, Msg } from './ref.ts';

export interface TraceEntry {
  readonly timeMs: number;
  readonly from: string;
  readonly to: string;
  readonly msg: string;
}

export class Trace {
  private readonly digest = createHash('sha1');
  /** Records not yet folded into the digest: hashing in batches keeps the native call rare. */
  private pending: string[] = [];
  /** Messages recorded so far. */
  count = 0;
  private readonly ring: TraceEntry[] = [];
  private ringNext = 0;

  /**
   * @param keepLast how many recent entries to keep for inspection (0 keeps none; the hash
   *   always covers everything).
   */
  constructor(readonly keepLast = 0) {}

  record(timeMs: number, from: Address | undefined, to: Address, msg: Msg): void {
    const body = stringify(msg);
    const fromKey = from ? `${from.host}/${from.path}` : '-';
    const toKey = `${to.host}/${to.path}`;
    this.pending.push(`${timeMs}|${fromKey}|${toKey}|${body}`);
    if (this.pending.length >= BATCH) this.flush();
    this.count++;
    if (this.keepLast > 0) {
      const entry = { timeMs, from: fromKey, to: toKey, msg: body };
      if (this.ring.length < this.keepLast) this.ring.push(entry);
      else this.ring[this.ringNext] = entry;
      this.ringNext = (this.ringNext + 1) % this.keepLast;
    }
  }

  /** Fold any other deterministic fact (a fault injected, a host crash) into the hash. */
  note(text: string): void {
    this.pending.push(`#${text}`);
  }

  /** 16 hex digits: a prefix of the SHA-1 of every record so far. */
  hash(): string {
    this.flush();
    return this.digest.copy().digest('hex').slice(0, 16);
  }

  /** The last `keepLast` entries, oldest first. */
  entries(): TraceEntry[] {
    return this.ring.length < this.keepLast ? [...this.ring] : [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.digest.update(this.pending.join('\n'));
    this.digest.update('\n');
    this.pending = [];
  }
}

const BATCH = 512;

function stringify(msg: Msg): string {
  try {
    return JSON.stringify(msg);
  } catch {
    // BigInt and friends: superjson is slower but deterministic too.
    return superjson.stringify(msg);
  }
}
