// Trace recording: every message an actor processes, in order, folded into a 64-bit hash.
// Same seed and same code give the same trace hash; a different hash for the same seed is
// non-determinism (a wall-clock read, Math.random, iteration over an unordered structure...).
//
// The hash walks each message's structure (keys, strings, the exact bits of numbers) instead of
// serialising it: serialising every message cost more than the rest of the simulator together.
import superjson from 'superjson';
import type { Address, Msg } from './ref.ts';

export interface TraceEntry {
  readonly timeMs: number;
  readonly from: string;
  readonly to: string;
  readonly msg: string;
}

/** What a trace sink is handed (SystemOptions.traceSink): a message processed, or a fact noted. */
export type TraceEvent =
  | { readonly kind: 'msg'; readonly timeMs: number; readonly from: string; readonly to: string; readonly msg: Msg }
  | { readonly kind: 'note'; readonly text: string };

export type TraceSink = (e: TraceEvent) => void;

/** One event as a line of JSON (`sim --trace-out`): {t, from, to, msg} or {note}. */
export function traceLine(e: TraceEvent): string {
  return e.kind === 'note'
    ? JSON.stringify({ note: e.text })
    : `{"t":${e.timeMs},"from":${JSON.stringify(e.from)},"to":${JSON.stringify(e.to)},"msg":${stringify(e.msg)}}`;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const MAX_DEPTH = 64;

export class Trace {
  private h1 = 0x811c9dc5 | 0;
  private h2 = 0x2545f491 | 0;
  /** Messages recorded so far. */
  count = 0;
  private readonly ring: TraceEntry[] = [];
  private ringNext = 0;

  /**
   * @param keepLast how many recent entries to keep for inspection (0 keeps none; the hash
   *   always covers everything).
   */
  constructor(readonly keepLast = 0, private readonly sink?: TraceSink) {}

  record(timeMs: number, from: Address | undefined, to: Address, msg: Msg): void {
    this.number(timeMs);
    if (from) {
      this.string(from.host);
      this.string(from.path);
    } else {
      this.word(0x2d);
    }
    this.string(to.host);
    this.string(to.path);
    this.value(msg, 0);
    this.count++;
    if (this.keepLast > 0) this.keep(timeMs, from, to, msg);
    if (this.sink) this.sink({ kind: 'msg', timeMs, from: from ? `${from.host}/${from.path}` : '-', to: `${to.host}/${to.path}`, msg });
  }

  /** Fold any other deterministic fact (a fault injected, a host crash) into the hash. */
  note(text: string): void {
    this.word(0x23);
    this.string(text);
    if (this.sink) this.sink({ kind: 'note', text });
  }

  /** 16 hex digits. */
  hash(): string {
    // A final mix so that nearby states give unrelated digests.
    const a = Math.imul(this.h1 ^ (this.h2 >>> 15), 0x85ebca6b) ^ (this.h1 >>> 13);
    const b = Math.imul(this.h2 ^ (this.h1 >>> 16), 0xc2b2ae35) ^ (this.h2 >>> 11);
    return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
  }

  /** The last `keepLast` entries, oldest first. */
  entries(): TraceEntry[] {
    return this.ring.length < this.keepLast ? [...this.ring] : [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
  }

  private keep(timeMs: number, from: Address | undefined, to: Address, msg: Msg): void {
    const entry = { timeMs, from: from ? `${from.host}/${from.path}` : '-', to: `${to.host}/${to.path}`, msg: stringify(msg) };
    if (this.ring.length < this.keepLast) this.ring.push(entry);
    else this.ring[this.ringNext] = entry;
    this.ringNext = (this.ringNext + 1) % this.keepLast;
  }

  // Two independent 32-bit lanes: cheap, and 64 bits make accidental collisions between two
  // different runs vanishingly rare.
  private word(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 0x01000193);
    this.h2 = Math.imul(this.h2 ^ w, 0x5bd1e995) ^ (this.h2 >>> 15);
  }

  private string(s: string): void {
    let a = this.h1;
    let b = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
    this.h1 = a;
    this.h2 = b;
    this.word(0x1f0000 | s.length); // the length ends the string: 'ab'+'c' differs from 'a'+'bc'
  }

  private number(x: number): void {
    if ((x | 0) === x) {
      this.word(0x4e0000);
      this.word(x);
    } else {
      f64[0] = x;
      this.word(u32[0]!);
      this.word(u32[1]!);
    }
  }

  private value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string': return this.string(v);
      case 'number': return this.number(v);
      case 'boolean': return this.word(v ? 0x74 : 0x66);
      case 'undefined': return this.word(0x75);
      case 'bigint': this.word(0x62); return this.string(v.toString());
      case 'object': break;
      default: return this.string(String(v));
    }
    if (v === null) return this.word(0x6e);
    if (depth > MAX_DEPTH) return this.word(0x2e2e);
    if (Array.isArray(v)) {
      this.word(0x5b0000 | v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
      return;
    }
    if (v instanceof Map) {
      this.word(0x4d0000 | v.size);
      for (const [k, x] of v) { this.value(k, depth + 1); this.value(x, depth + 1); }
      return;
    }
    if (v instanceof Set) {
      this.word(0x530000 | v.size);
      for (const x of v) this.value(x, depth + 1);
      return;
    }
    if (v instanceof Date) return this.number(v.getTime());
    this.word(0x7b);
    for (const key in v) {
      this.string(key);
      this.value((v as Record<string, unknown>)[key], depth + 1);
    }
    this.word(0x7d);
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
