// Trace recording: every message an actor processes, in order, folded into a 64-bit hash.
// Same seed and same code give the same trace hash; a different hash for the same seed is
// non-determinism (a wall-clock read, Math.random, iteration over an unordered structure...).
import superjson from 'superjson';
import type { Address, Msg } from './ref.ts';

export interface TraceEntry {
  readonly timeMs: number;
  readonly from: string;
  readonly to: string;
  readonly msg: string;
}

export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
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
    this.fold(`${timeMs}|${fromKey}|${toKey}|${body}\n`);
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
    this.fold(`#${text}\n`);
  }

  /** 16 hex digits. */
  hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** The last `keepLast` entries, oldest first. */
  entries(): TraceEntry[] {
    return this.ring.length < this.keepLast ? [...this.ring] : [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
  }

  private fold(s: string): void {
    // Two independent 32-bit multiplicative hashes: cheap, and 64 bits make accidental
    // collisions between two different runs vanishingly rare.
    let a = this.h1;
    let b = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
    this.h1 = a;
    this.h2 = b;
  }
}

function stringify(msg: Msg): string {
  try {
    return JSON.stringify(msg);
  } catch {
    // BigInt and friends: superjson is slower but deterministic too.
    return superjson.stringify(msg);
  }
}
