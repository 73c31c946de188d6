// Match-action tables at run time: exact match (a hash table in SRAM on hardware), ternary
// match (TCAM: value/mask per field, the highest priority wins) and longest-prefix match.
// Entries come from the control plane; a table never holds more than its declared size.
import type { Packet } from './packet.ts';
import type { ActionCall, ActionParams, ApplyResult, TableDecl } from './program.ts';
import { checkActionCall } from './program.ts';
import { WriteVersions } from './versions.ts';

/** How a control-plane entry matches one key field. */
export type MatchField =
  | number
  | { readonly value: number; readonly mask: number }
  | { readonly value: number; readonly prefixLen: number };

interface Entry<H> {
  readonly run: (pkt: Packet<H>, params: ActionParams) => void;
  readonly params: ActionParams;
  readonly result: ApplyResult;
}

interface TernaryEntry<H> extends Entry<H> {
  readonly id: string;
  /** value & mask, per field */
  readonly values: readonly number[];
  readonly masks: readonly number[];
  readonly priority: number;
  /** insertion order: among equal priorities the earlier entry wins */
  readonly seq: number;
}

const NO_ACTION: ApplyResult = Object.freeze({ hit: false, action: 'NoAction' });
const TWO32 = 2 ** 32;

/** Bitwise AND of two non-negative integers below 2^53 (JavaScript's & works on 32 bits). */
export function and53(a: number, b: number): number {
  if (a < TWO32 && b < TWO32) return (a & b) >>> 0;
  const hi = (Math.floor(a / TWO32) & Math.floor(b / TWO32)) >>> 0;
  return hi * TWO32 + ((a & b) >>> 0);
}

function fieldMask(bits: number): number {
  return 2 ** bits - 1;
}

export class TableRuntime<H> {
  private readonly exact = new Map<number | string, Entry<H>>();
  private ternary: TernaryEntry<H>[] = [];
  private readonly ternaryIds = new Set<string>();
  /** lpm: entries by prefix length, and the lengths in use, longest first */
  private readonly byLen: Map<number, Entry<H>>[] = [];
  private lens: number[] = [];
  private readonly divisors: number[] = [];
  private seq = 0;
  private defaultEntry: Entry<H> | undefined;
  private readonly composite: boolean;
  private readonly shifts: number[] = [];
  private readonly scratch: number[];
  /** Versions of the control plane's writes (versions.ts): entries by id; the default's apart (a clear leaves it). */
  private readonly versions = new WriteVersions();
  private readonly defaultVersion = new WriteVersions();
  count = 0;

  constructor(readonly decl: TableDecl<H>) {
    const width = decl.keys.reduce((s, k) => s + k.bits, 0);
    this.composite = decl.keys.length > 1 && width <= 53;
    let shift = width;
    for (const k of decl.keys) { shift -= k.bits; this.shifts.push(2 ** shift); }
    this.scratch = new Array<number>(decl.keys.length).fill(0);
    if (decl.match === 'lpm') {
      const w = decl.keys[0]!.bits;
      for (let len = 0; len <= w; len++) { this.byLen.push(new Map()); this.divisors.push(2 ** (w - len)); }
    }
    if (decl.defaultAction) {
      const err = this.setDefault(decl.defaultAction);
      if (err) throw new Error(err);
    }
  }

  get name(): string {
    return this.decl.name;
  }

  /** Look up the packet's key and run the matching entry's action (or the default). */
  apply(pkt: Packet<H>): ApplyResult {
    const e = this.lookup(pkt.headers);
    if (e) {
      e.run(pkt, e.params);
      return e.result;
    }
    const d = this.defaultEntry;
    if (!d) return NO_ACTION;
    d.run(pkt, d.params);
    return d.result;
  }

  lookup(h: H): Entry<H> | undefined {
    const keys = this.decl.keys;
    switch (this.decl.match) {
      case 'exact':
        return this.exact.get(keys.length === 1 ? keys[0]!.get(h) : this.exactKey(h));
      case 'lpm': {
        const v = keys[0]!.get(h);
        const lens = this.lens;
        for (let i = 0; i < lens.length; i++) {
          const len = lens[i]!;
          const e = this.byLen[len]!.get(Math.floor(v / this.divisors[len]!));
          if (e) return e;
        }
        return undefined;
      }
      case 'ternary': {
        const vals = this.scratch;
        for (let i = 0; i < keys.length; i++) vals[i] = keys[i]!.get(h);
        const entries = this.ternary;
        outer: for (let j = 0; j < entries.length; j++) {
          const e = entries[j]!;
          for (let i = 0; i < vals.length; i++) {
            if (and53(vals[i]!, e.masks[i]!) !== e.values[i]) continue outer;
          }
          return e;
        }
        return undefined;
      }
    }
  }

  private exactKey(h: H): number | string {
    const keys = this.decl.keys;
    if (this.composite) {
      let k = 0;
      for (let i = 0; i < keys.length; i++) k += keys[i]!.get(h) * this.shifts[i]!;
      return k;
    }
    let s = '';
    for (let i = 0; i < keys.length; i++) s += (i ? ':' : '') + keys[i]!.get(h);
    return s;
  }

  // ---- control plane -------------------------------------------------------------------------

  /** Add an entry (a `version` orders it against other versioned writes: versions.ts). Returns an error message, or null. */
  insert(match: readonly MatchField[], call: ActionCall, priority?: number, version?: number): string | null {
    const err = checkActionCall(this.decl, call);
    if (err) return err;
    const parsed = this.parseMatch(match, priority);
    if (typeof parsed === 'string') return parsed;
    const stale = this.versions.refuse(entryId(parsed), version, `table '${this.name}' entry ${describeMatch(match, priority)}`);
    if (stale) return stale;
    if (this.has(parsed)) return `table '${this.name}' already has an entry for ${describeMatch(match, priority)}`;
    if (this.count >= this.decl.size) return `table '${this.name}' is full (${this.decl.size} entries): cannot insert ${describeMatch(match, priority)}`;
    const entry = this.entry(call, true);
    switch (parsed.kind) {
      case 'exact':
        this.exact.set(parsed.key, entry);
        break;
      case 'lpm':
        this.byLen[parsed.len]!.set(parsed.key, entry);
        if (!this.lens.includes(parsed.len)) this.lens = [...this.lens, parsed.len].sort((a, b) => b - a);
        break;
      case 'ternary': {
        const te: TernaryEntry<H> = { ...entry, id: parsed.id, values: parsed.values, masks: parsed.masks, priority: parsed.priority, seq: this.seq++ };
        this.ternary = [...this.ternary, te].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
        this.ternaryIds.add(parsed.id);
        break;
      }
    }
    this.count++;
    this.versions.record(entryId(parsed), version);
    return null;
  }

  /** Remove an entry (a `version` orders it: versions.ts). Returns an error message, or null. */
  delete(match: readonly MatchField[], priority?: number, version?: number): string | null {
    const parsed = this.parseMatch(match, priority);
    if (typeof parsed === 'string') return parsed;
    const stale = this.versions.refuse(entryId(parsed), version, `table '${this.name}' entry ${describeMatch(match, priority)}`);
    if (stale) return stale;
    if (!this.has(parsed)) return `table '${this.name}' has no entry for ${describeMatch(match, priority)}`;
    switch (parsed.kind) {
      case 'exact':
        this.exact.delete(parsed.key);
        break;
      case 'lpm':
        this.byLen[parsed.len]!.delete(parsed.key);
        if (this.byLen[parsed.len]!.size === 0) this.lens = this.lens.filter((l) => l !== parsed.len);
        break;
      case 'ternary':
        this.ternary = this.ternary.filter((e) => e.id !== parsed.id);
        this.ternaryIds.delete(parsed.id);
        break;
    }
    this.count--;
    // (The version stays: a late insert older than this delete is refused.)
    this.versions.record(entryId(parsed), version);
    return null;
  }

  /**
   * Remove every entry (the default action stays). With a `version`, only the entries written
   * before it (or without one) go: it is the clear as it would have been had it come in order.
   * Returns how many went, or an error message.
   */
  clear(version?: number): number | string {
    const stale = this.versions.refuseClear(version, `table '${this.name}'`);
    if (stale) return stale;
    const n = this.count;
    if (version === undefined) {
      this.exact.clear();
      this.ternary = [];
      this.ternaryIds.clear();
      for (const m of this.byLen) m.clear();
      this.lens = [];
      this.count = 0;
      return n;
    }
    const older = (id: string): boolean => this.versions.olderThan(id, version);
    for (const k of [...this.exact.keys()]) if (older(exactId(k))) this.exact.delete(k);
    this.byLen.forEach((m, len) => { for (const k of [...m.keys()]) if (older(lpmId(len, k))) m.delete(k); });
    this.lens = this.lens.filter((len) => this.byLen[len]!.size > 0);
    this.ternary = this.ternary.filter((e) => !older(e.id));
    this.ternaryIds.clear();
    for (const e of this.ternary) this.ternaryIds.add(e.id);
    this.count = this.exact.size + this.ternary.length + this.byLen.reduce((c, m) => c + m.size, 0);
    this.versions.cleared(version);
    return n - this.count;
  }

  setDefault(call: ActionCall, version?: number): string | null {
    const err = checkActionCall(this.decl, call);
    if (err) return err;
    const stale = this.defaultVersion.refuse(DEFAULT_ID, version, `table '${this.name}' default action`);
    if (stale) return stale;
    this.defaultEntry = this.entry(call, false);
    this.defaultVersion.record(DEFAULT_ID, version);
    return null;
  }

  private entry(call: ActionCall, hit: boolean): Entry<H> {
    const a = this.decl.actions[call.action]!;
    return { run: a.run, params: Object.freeze({ ...call.params }), result: Object.freeze({ hit, action: call.action }) };
  }

  private has(p: ParsedMatch): boolean {
    switch (p.kind) {
      case 'exact': return this.exact.has(p.key);
      case 'lpm': return this.byLen[p.len]!.has(p.key);
      case 'ternary': return this.ternaryIds.has(p.id);
    }
  }

  private parseMatch(match: readonly MatchField[], priority: number | undefined): ParsedMatch | string {
    const keys = this.decl.keys;
    const what = `table '${this.name}'`;
    if (!Array.isArray(match) || match.length !== keys.length) {
      return `${what} has ${keys.length} key field(s) (${keys.map((k) => k.name).join(', ')}); the entry gives ${Array.isArray(match) ? match.length : 'none'}`;
    }
    const inRange = (v: unknown, bits: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** bits;
    switch (this.decl.match) {
      case 'exact': {
        const vals: number[] = [];
        for (let i = 0; i < keys.length; i++) {
          const m = match[i];
          if (!inRange(m, keys[i]!.bits)) return `${what}: field '${keys[i]!.name}' takes an exact value of ${keys[i]!.bits} bits, got ${JSON.stringify(m)}`;
          vals.push(m);
        }
        let key: number | string;
        if (keys.length === 1) key = vals[0]!;
        else if (this.composite) key = vals.reduce((k, v, i) => k + v * this.shifts[i]!, 0);
        else key = vals.join(':');
        return { kind: 'exact', key };
      }
      case 'lpm': {
        const bits = keys[0]!.bits;
        const m = match[0];
        const value = typeof m === 'number' ? m : (m as { value?: unknown }).value;
        const len = typeof m === 'number' ? bits : (m as { prefixLen?: unknown }).prefixLen;
        if (!inRange(value, bits)) return `${what}: field '${keys[0]!.name}' value must fit in ${bits} bits, got ${JSON.stringify(m)}`;
        if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > bits) return `${what}: prefix length must be 0..${bits}, got ${JSON.stringify(len)}`;
        // Bits past the prefix are ignored, as P4Runtime canonicalises them.
        return { kind: 'lpm', len, key: Math.floor(value / this.divisors[len]!) };
      }
      case 'ternary': {
        if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0) {
          return `${what}: a ternary entry needs a priority (a non-negative integer; higher wins), got ${JSON.stringify(priority)}`;
        }
        const values: number[] = [];
        const masks: number[] = [];
        for (let i = 0; i < keys.length; i++) {
          const m = match[i];
          const bits = keys[i]!.bits;
          const value = typeof m === 'number' ? m : (m as { value?: unknown }).value;
          const mask = typeof m === 'number' ? fieldMask(bits) : (m as { mask?: unknown }).mask;
          if (!inRange(value, bits) || !inRange(mask, bits)) {
            return `${what}: field '${keys[i]!.name}' takes a value and mask of ${bits} bits, got ${JSON.stringify(m)}`;
          }
          masks.push(mask);
          values.push(and53(value, mask));
        }
        return { kind: 'ternary', values, masks, priority, id: `${values.join(',')}/${masks.join(',')}@${priority}` };
      }
    }
  }
}

/** The identity of an entry, for its version (versions.ts). */
const DEFAULT_ID = 'default';
const exactId = (key: number | string): string => `=${key}`;
const lpmId = (len: number, key: number): string => `/${len}:${key}`;

function entryId(p: ParsedMatch): string {
  switch (p.kind) {
    case 'exact': return exactId(p.key);
    case 'lpm': return lpmId(p.len, p.key);
    case 'ternary': return p.id;
  }
}

type ParsedMatch =
  | { kind: 'exact'; key: number | string }
  | { kind: 'lpm'; len: number; key: number }
  | { kind: 'ternary'; values: number[]; masks: number[]; priority: number; id: string };

function describeMatch(match: readonly MatchField[], priority: number | undefined): string {
  return `${JSON.stringify(match)}${priority === undefined ? '' : ` priority ${priority}`}`;
}
