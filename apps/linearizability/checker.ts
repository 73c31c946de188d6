// The linearizability checker: Wing & Gong's search with Lowe's memoisation, as Porcupine runs it
// (Athalye, "Porcupine"; Lowe, "Testing for linearizability", 2017), split by key
// (P-compositionality, Horn & Kroening 2015).
//
// The search walks a doubly linked list of call and return entries sorted by time. The operations
// whose calls come before the first return in the list are the ones that may take effect next; the
// search tries each in turn: if the model accepts it and the pair (set of linearized operations,
// state) was never seen, it lifts the operation's entries out of the list, pushes it on a stack and
// starts again from the head. Reaching a return entry means the operation it belongs to can no
// longer be linearized in time: pop the last choice and try the next entry after it.
//
// Operations with an unknown outcome have no return entry (their return is at +infinity) and need
// not be linearized at all: the search succeeds once every operation with a known outcome is.
//
// Speed: states are interned to small integers and every (state, operation) transition is computed
// by the model once and kept in a table, so the inner loop does integer work only; the set of
// linearized operations is a bitset with an incremental Zobrist hash; the memo is an open-addressing
// hash table over typed arrays.
import type { History, Operation } from './history.ts';
import { HistoryParseError } from './history.ts';
import { mix32, type AnyModel, type Model } from './models.ts';

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckOptions {
  /** Give up with 'unknown' after this long (needs `now`). */
  timeoutMs?: number;
  /** The clock for `timeoutMs`, in ms (the CLI passes performance.now; apps/ code reads no clock). */
  now?: () => number;
  /** Give up with 'unknown' after this many search steps (deterministic, unlike a time limit). */
  maxSteps?: number;
  /** Return, for each linearizable partition, one linearization (operation ids in order). */
  witness?: boolean;
}

export interface PartitionResult {
  /** The key (partitioned models), or null for the whole history. */
  key: string | null;
  operations: number;
  /** 'unknown' also for a partition that was not checked (the search stopped before it). */
  verdict: Verdict;
  checked: boolean;
  steps: number;
  /** Distinct model states the search met. */
  states: number;
  linearization?: number[];
}

export interface Violation {
  partition: string | null;
  /** Operations in the partition. */
  operations: number;
  /** Operation ids of a longest linearizable prefix, in linearization order. */
  prefix: number[];
  /** The state after the prefix, described by the model. */
  state: string;
  /** The earliest return among the operations left: it must take effect before then. */
  deadline: number;
  /** The operations that may come next after the prefix, and whether the model allows each. */
  pending: { id: number; description: string; possible: boolean; changesNothing: boolean }[];
  /** A short human-readable explanation. */
  text: string;
}

export interface CheckResult {
  verdict: Verdict;
  operations: number;
  partitions: { total: number; checked: number };
  partitionResults: PartitionResult[];
  steps: number;
  /** Why the verdict is 'unknown'. */
  reason?: 'timeout' | 'step-limit';
  violation?: Violation;
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Checking a whole history

/**
 * Checks that `history` (already decoded for `model`, see decodeHistory) is linearizable. Each
 * partition is checked alone; the first partition that is not linearizable ends the check.
 */
export function checkHistory<S, I, O>(model: Model<S, I, O>, history: History<I, O>, options: CheckOptions = {}): CheckResult {
  if (options.timeoutMs !== undefined && options.now === undefined) {
    throw new Error('checkHistory: timeoutMs needs a clock (options.now)');
  }
  const budget: Budget = {
    now: options.now,
    deadline: options.timeoutMs !== undefined && options.now !== undefined ? options.now() + options.timeoutMs : Infinity,
    stepsLeft: options.maxSteps ?? Infinity,
    exhausted: undefined,
  };
  const partitions = partition(model, history.operations);
  const partitionResults: PartitionResult[] = partitions.map((p) => ({
    key: p.key, operations: p.ops.length, verdict: 'unknown', checked: false, steps: 0, states: 0,
  }));
  let checked = 0;
  let verdict: Verdict = 'linearizable';
  let violation: Violation | undefined;
  // Partitions take turns with a growing slice of steps, so that one that is hard to prove
  // linearizable does not hide another that fails quickly.
  const searches: (PartitionSearch<S, I, O> | undefined)[] = partitions.map(() => undefined);
  let active = partitions.map((_, i) => i);
  let slice = FIRST_SLICE;
  rounds: while (active.length > 0) {
    const stillActive: number[] = [];
    for (const i of active) {
      if (budget.exhausted === undefined && budget.now !== undefined && budget.now() > budget.deadline) budget.exhausted = 'timeout';
      if (budget.exhausted !== undefined) {
        verdict = 'unknown';
        break rounds;
      }
      const p = partitions[i]!;
      const pr = partitionResults[i]!;
      const search = (searches[i] ??= new PartitionSearch(model, p.ops));
      const outcome = search.run(budget, slice);
      pr.steps = search.steps;
      pr.states = search.stateCount;
      if (outcome === 'running') {
        stillActive.push(i);
        continue;
      }
      pr.verdict = outcome;
      if (outcome === 'unknown') {
        verdict = 'unknown';
        break rounds;
      }
      pr.checked = true;
      checked++;
      searches[i] = undefined; // let its memory go
      if (outcome === 'linearizable') {
        if (options.witness === true) pr.linearization = search.linearization().map((local) => p.ops[local]!.id);
        continue;
      }
      verdict = 'not-linearizable';
      violation = explain(model, p.key, p.ops, search, partitions.length > 1 || p.key !== null);
      break rounds;
    }
    active = stillActive;
    slice *= 2;
  }
  let steps = 0;
  for (const pr of partitionResults) steps += pr.steps;
  const result: CheckResult = {
    verdict,
    operations: history.operations.length,
    partitions: { total: partitions.length, checked },
    partitionResults,
    steps,
  };
  if (verdict === 'unknown') result.reason = budget.exhausted ?? 'timeout';
  if (violation !== undefined) result.violation = violation;
  return result;
}

/**
 * Checks every input and output of a parsed history against the model and returns the typed
 * history. Throws a HistoryParseError naming the operation (and its line) for a bad one.
 */
export function decodeHistory<I, O>(model: Model<any, I, O>, history: History<unknown, unknown>): History<I, O> {
  const operations: Operation<I, O>[] = history.operations.map((op, index) => {
    try {
      const input = model.decodeInput(op.input);
      const out: Operation<I, O> = { id: index, client: op.client, input, invokeTime: op.invokeTime, returnTime: op.returnTime };
      if (op.returnTime !== null) out.output = model.decodeOutput(op.output, input);
      if (op.line !== undefined) out.line = op.line;
      return out;
    } catch (err) {
      if (err instanceof HistoryParseError) throw err;
      throw new HistoryParseError(`operation ${index}: ${(err as Error).message}`, op.line);
    }
  });
  return history.model === undefined ? { operations } : { model: history.model, operations };
}

interface Budget {
  now: (() => number) | undefined;
  deadline: number;
  stepsLeft: number;
  exhausted: 'timeout' | 'step-limit' | undefined;
}

interface Partition<I, O> {
  key: string | null;
  ops: Operation<I, O>[];
}

function partition<I, O>(model: Model<any, I, O>, ops: Operation<I, O>[]): Partition<I, O>[] {
  const keyOf = model.partitionKey;
  if (keyOf === undefined) return [{ key: null, ops }];
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const key = keyOf(op.input);
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, (list = []));
    list.push(op);
  }
  return [...byKey].map(([key, list]) => ({ key, ops: list }));
}

// ---------------------------------------------------------------------------------------------
// The search over one partition

/**
 * States whose transitions are kept, in a dense table. Beyond them the model is asked every time:
 * where states are many (kv values) a transition is rarely asked twice, and a table costs more
 * than it saves.
 */
const DENSE_STATES = 16;
/** Steps a partition searches before the next one has a turn; doubles every round. */
const FIRST_SLICE = 20_000;
/** How many steps between two looks at the clock. */
const CLOCK_EVERY = 4096;

class PartitionSearch<S, I, O> {
  readonly n: number;
  steps = 0;
  // Operations (local ids 0..n-1).
  private readonly inputs: I[];
  private readonly outputs: (O | undefined)[];
  private readonly known: Uint8Array;
  private readonly zobrist: Int32Array;
  // Entries 1..m, sorted by time, in a circular doubly linked list with sentinel 0.
  readonly order: Int32Array;
  readonly entOp: Int32Array;
  readonly entIsCall: Uint8Array;
  private readonly match: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  // Interned states and the transition table: row[op] = 0 not computed, -1 refused, k+1 → state k.
  private readonly states: S[] = [];
  private readonly stateIndex = new Map<number, number>();
  private readonly collisions = new Map<number, number[]>();
  private readonly stateByKey = new Map<unknown, number>();
  private readonly dense: Int32Array;
  // The memo: (bitset of linearized operations, state) pairs already explored.
  private readonly words: number;
  private readonly bits: Int32Array;
  private pool: Int32Array;
  private memoKey: Int32Array;
  private memoState: Int32Array;
  private memoCount = 0;
  private slots: Int32Array;
  // The stack of linearized calls, and a longest prefix seen.
  private readonly stackEntry: Int32Array;
  private readonly stackState: Int32Array;
  // The search's position, kept between slices.
  private depth = 0;
  private remaining: number;
  private current = 0;
  private zob = 0;
  private cursor: number;
  readonly bestPrefix: Int32Array;
  bestDepth = 0;
  private lowWater = 0;

  constructor(private readonly model: Model<S, I, O>, ops: Operation<I, O>[]) {
    const n = ops.length;
    this.n = n;
    this.inputs = ops.map((op) => op.input);
    this.outputs = ops.map((op) => (op.returnTime === null ? undefined : op.output));
    this.known = new Uint8Array(n);
    let knownCount = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const known = ops[i]!.returnTime !== null;
      this.known[i] = known ? 1 : 0;
      knownCount += known ? 1 : 0;
      m += known ? 2 : 1;
    }
    this.zobrist = new Int32Array(n);
    for (let i = 0; i < n; i++) this.zobrist[i] = mix32(Math.imul(i + 1, 0x9e3779b9) ^ 0x2c1b3c6d) | 1;

    // Entries: the call of each operation, and the return of each with a known outcome. At equal
    // times calls come first, so that touching intervals count as concurrent (never a false alarm).
    const time = new Float64Array(m + 1);
    this.entOp = new Int32Array(m + 1);
    this.entIsCall = new Uint8Array(m + 1);
    let e = 1;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      time[e] = op.invokeTime;
      this.entOp[e] = i;
      this.entIsCall[e] = 1;
      e++;
      if (op.returnTime !== null) {
        assert(op.returnTime >= op.invokeTime, `operation ${op.id} returns before it is invoked`);
        time[e] = op.returnTime;
        this.entOp[e] = i;
        e++;
      }
    }
    const sorted = Array.from({ length: m }, (_, k) => k + 1);
    const { entOp, entIsCall } = this;
    sorted.sort((a, b) => time[a]! - time[b]! || entIsCall[b]! - entIsCall[a]! || entOp[a]! - entOp[b]!);
    this.order = Int32Array.from(sorted);
    // Renumber so that entry k is the k-th in time order: the list starts as 0 → 1 → ... → m → 0.
    const entOpSorted = new Int32Array(m + 1);
    const entIsCallSorted = new Uint8Array(m + 1);
    const callEntry = new Int32Array(n);
    this.match = new Int32Array(m + 1);
    for (let k = 1; k <= m; k++) {
      const old = sorted[k - 1]!;
      entOpSorted[k] = entOp[old]!;
      entIsCallSorted[k] = entIsCall[old]!;
      if (entIsCall[old] === 1) callEntry[entOp[old]!] = k;
      else this.match[callEntry[entOp[old]!]!] = k;
    }
    this.entOp = entOpSorted;
    this.entIsCall = entIsCallSorted;
    this.order = Int32Array.from({ length: m }, (_, k) => k + 1);
    this.next = new Int32Array(m + 1);
    this.prev = new Int32Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.next[k] = k === m ? 0 : k + 1;
      this.prev[k] = k === 0 ? m : k - 1;
    }

    this.words = Math.max(1, (n + 31) >>> 5);
    this.bits = new Int32Array(this.words);
    const cap = 1024;
    this.pool = new Int32Array(cap * this.words);
    this.memoKey = new Int32Array(cap);
    this.memoState = new Int32Array(cap);
    this.slots = new Int32Array(cap * 2);
    this.stackEntry = new Int32Array(n + 1);
    this.stackState = new Int32Array(n + 1);
    this.bestPrefix = new Int32Array(n);
    this.dense = new Int32Array(DENSE_STATES * n);
    this.remaining = knownCount;
    this.cursor = this.next[0]!;
    this.intern(model.init());
  }

  get stateCount(): number {
    return this.states.length;
  }

  /** The linearization found (local operation ids), after run() said 'linearizable'. */
  linearization(): number[] {
    const out: number[] = [];
    for (let d = 0; d < this.depth; d++) out.push(this.entOp[this.stackEntry[d]!]!);
    return out;
  }

  /** A longest linearizable prefix (local operation ids). */
  prefix(): number[] {
    return Array.from(this.bestPrefix.subarray(0, this.bestDepth));
  }

  state(id: number): S {
    return this.states[id]!;
  }

  /**
   * Searches for at most `slice` steps (and within the budget): 'running' when the slice ran out
   * before an answer, so that partitions can take turns (a violation in one partition ends the
   * check early, as Porcupine's parallel partitions do).
   */
  run(budget: Budget, slice = Infinity): Verdict | 'running' {
    const { next, prev, entOp, entIsCall, match, known, zobrist, bits, stackEntry, stackState, dense, bestPrefix } = this;
    let remaining = this.remaining;
    let state = this.current;
    let zob = this.zob;
    let depth = this.depth;
    let e = this.cursor;
    let steps = 0;
    let verdict: Verdict | 'running' = 'linearizable';
    const clockEvery = budget.now === undefined ? Infinity : CLOCK_EVERY;
    let clockIn = clockEvery;
    const stepsLeft = Math.min(budget.stepsLeft, slice);
    while (remaining > 0) {
      if (steps >= stepsLeft) {
        verdict = 'running';
        break;
      }
      steps++;
      if (--clockIn <= 0) {
        clockIn = clockEvery;
        if (budget.now!() > budget.deadline) {
          budget.exhausted = 'timeout';
          verdict = 'unknown';
          break;
        }
      }
      assert(e !== 0, 'an operation with a known outcome is left, so a return entry is left');
      if (entIsCall[e] === 1) {
        const op = entOp[e]!;
        let t = state < DENSE_STATES ? dense[state * this.n + op]! : 0;
        if (t === 0) t = this.transition(state, op);
        // An operation with an unknown outcome that would change nothing is better left out.
        if (t > 0 && (t - 1 !== state || known[op] === 1)) {
          const nextState = t - 1;
          const w = op >>> 5;
          const bit = 1 << (op & 31);
          bits[w]! |= bit;
          const z = zob ^ zobrist[op]!;
          if (this.remember(z, nextState)) {
            stackEntry[depth] = e;
            stackState[depth] = state;
            depth++;
            state = nextState;
            zob = z;
            remaining -= known[op]!;
            // Lift the call and its return out of the list.
            next[prev[e]!] = next[e]!;
            prev[next[e]!] = prev[e]!;
            const r = match[e]!;
            if (r !== 0) {
              next[prev[r]!] = next[r]!;
              prev[next[r]!] = prev[r]!;
            }
            if (depth > this.bestDepth) {
              for (let d = this.lowWater; d < depth; d++) bestPrefix[d] = entOp[stackEntry[d]!]!;
              this.bestDepth = depth;
              this.lowWater = depth;
            }
            e = next[0]!;
            continue;
          }
          bits[w]! &= ~bit;
        }
        e = next[e]!;
      } else {
        // A return: its operation was not linearized in time. Undo the last choice.
        if (depth === 0) {
          verdict = 'not-linearizable';
          break;
        }
        depth--;
        if (depth < this.lowWater) this.lowWater = depth;
        e = stackEntry[depth]!;
        state = stackState[depth]!;
        const op = entOp[e]!;
        bits[op >>> 5]! &= ~(1 << (op & 31));
        zob ^= zobrist[op]!;
        remaining += known[op]!;
        const r = match[e]!;
        if (r !== 0) {
          next[prev[r]!] = r;
          prev[next[r]!] = r;
        }
        next[prev[e]!] = e;
        prev[next[e]!] = e;
        e = next[e]!;
      }
    }
    if (verdict === 'running' && steps >= budget.stepsLeft) {
      budget.exhausted = 'step-limit';
      verdict = 'unknown';
    }
    this.steps += steps;
    budget.stepsLeft -= steps;
    this.remaining = remaining;
    this.current = state;
    this.zob = zob;
    this.depth = depth;
    this.cursor = e;
    return verdict;
  }

  /** Asks the model for a transition and records it: -1 refused, k+1 for next state k. */
  private transition(state: number, op: number): number {
    const r = this.model.step(this.states[state]!, this.inputs[op]!, this.outputs[op]);
    // An operation that leaves the state as it is (a read) needs no interning.
    const t = !r.ok ? -1 : r.next === this.states[state] ? state + 1 : this.intern(r.next) + 1;
    if (state < DENSE_STATES) this.dense[state * this.n + op] = t;
    return t;
  }

  private intern(s: S): number {
    const primitiveKey = this.model.key;
    if (primitiveKey !== undefined) {
      const k = primitiveKey(s);
      const id = this.stateByKey.get(k);
      if (id !== undefined) return id;
      this.stateByKey.set(k, this.states.length);
      this.states.push(s);
      return this.states.length - 1;
    }
    const h = this.model.hash(s);
    const first = this.stateIndex.get(h);
    const id = this.states.length;
    if (first === undefined) {
      this.stateIndex.set(h, id);
    } else {
      if (this.model.equals(this.states[first]!, s)) return first;
      let more = this.collisions.get(h);
      if (more === undefined) this.collisions.set(h, (more = []));
      for (const other of more) if (this.model.equals(this.states[other]!, s)) return other;
      more.push(id);
    }
    this.states.push(s);
    return id;
  }

  /** Adds (current bitset, state) to the memo; false if it was there already. */
  private remember(zob: number, state: number): boolean {
    const key = mix32(zob ^ Math.imul(state + 1, 0x85ebca6b));
    const { slots, memoKey, memoState, pool, bits, words } = this;
    const mask = slots.length - 1;
    let i = key & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) break;
      const k = s - 1;
      if (memoKey[k] === key && memoState[k] === state) {
        let same = true;
        const base = k * words;
        for (let w = 0; w < words; w++) {
          if (pool[base + w] !== bits[w]) {
            same = false;
            break;
          }
        }
        if (same) return false;
      }
      i = (i + 1) & mask;
    }
    const k = this.memoCount;
    if (k === memoKey.length) {
      this.growEntries();
      return this.remember(zob, state);
    }
    memoKey[k] = key;
    memoState[k] = state;
    pool.set(bits, k * words);
    slots[i] = k + 1;
    this.memoCount = k + 1;
    return true;
  }

  private growEntries(): void {
    const cap = this.memoKey.length * 2;
    const key = new Int32Array(cap);
    key.set(this.memoKey);
    const st = new Int32Array(cap);
    st.set(this.memoState);
    const pool = new Int32Array(cap * this.words);
    pool.set(this.pool);
    this.memoKey = key;
    this.memoState = st;
    this.pool = pool;
    // Keep the table at most half full.
    const slots = new Int32Array(cap * 2);
    const mask = slots.length - 1;
    for (let k = 0; k < this.memoCount; k++) {
      let i = key[k]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = k + 1;
    }
    this.slots = slots;
  }
}

// ---------------------------------------------------------------------------------------------
// Explanations

/** How many operations of the prefix an explanation shows. */
const PREFIX_SHOWN = 6;
const PENDING_SHOWN = 12;

function explain<S, I, O>(model: Model<S, I, O>, key: string | null, ops: Operation<I, O>[], search: PartitionSearch<S, I, O>, partitioned: boolean): Violation {
  const prefixLocal = search.prefix();
  const inPrefix = new Uint8Array(ops.length);
  let state = model.init();
  const after: S[] = [];
  for (const local of prefixLocal) {
    inPrefix[local] = 1;
    const op = ops[local]!;
    const r = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
    assert(r.ok, 'the prefix replays on the model');
    state = r.next;
    after.push(state);
  }
  // The operations left, in time order: those called before the first return may come next.
  const pendingLocal: number[] = [];
  let deadlineLocal = -1;
  for (const e of search.order) {
    const local = search.entOp[e]!;
    if (inPrefix[local] === 1) continue;
    if (search.entIsCall[e] === 1) pendingLocal.push(local);
    else {
      deadlineLocal = local;
      break;
    }
  }
  assert(deadlineLocal >= 0, 'a failed search leaves an operation that returned');
  const describe = (op: Operation<I, O>): string => model.describeOperation(op.input, op.returnTime === null ? undefined : op.output);
  const pending = pendingLocal.map((local) => {
    const op = ops[local]!;
    const r = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
    return { id: op.id, description: describe(op), possible: r.ok, changesNothing: r.ok && model.equals(r.next, state) };
  });
  const interval = (op: Operation<I, O>): string => `[${op.invokeTime}..${op.returnTime ?? '?'}]`;
  const who = (op: Operation<I, O>): string => `#${op.id} client ${String(op.client)}`;
  const stateText = model.describeState(state);
  const deadline = ops[deadlineLocal]!;
  const lines: string[] = [];
  const where = partitioned ? `key ${JSON.stringify(key)} (${ops.length} operations)` : `${ops.length} operations`;
  lines.push(`not linearizable: ${where}; a longest linearizable prefix has ${prefixLocal.length} operations.`);
  if (prefixLocal.length > 0) {
    const from = Math.max(0, prefixLocal.length - PREFIX_SHOWN);
    lines.push(from > 0 ? `The prefix ends (${from} earlier operations not shown):` : 'The prefix:');
    for (let k = from; k < prefixLocal.length; k++) {
      const op = ops[prefixLocal[k]!]!;
      lines.push(`  ${who(op)}  ${describe(op)}  ${interval(op)}  → ${model.describeState(after[k]!)}`);
    }
  }
  lines.push(`Then the state is ${stateText} and ${who(deadline)} (${describe(deadline)}, ${interval(deadline)}) must take effect by ${deadline.returnTime}, but none of the operations that may come next can:`);
  for (const p of pending.slice(0, PENDING_SHOWN)) {
    const op = ops.find((o) => o.id === p.id)!;
    lines.push(`  ${who(op)}  ${p.description}  ${interval(op)}  ${!p.possible ? `impossible in state ${stateText}` : p.changesNothing ? 'outcome unknown: may happen here, but changes nothing' : 'possible here, but every continuation fails'}`);
  }
  if (pending.length > PENDING_SHOWN) lines.push(`  ... and ${pending.length - PENDING_SHOWN} more`);
  return {
    partition: key,
    operations: ops.length,
    prefix: prefixLocal.map((local) => ops[local]!.id),
    state: stateText,
    deadline: deadline.id,
    pending,
    text: lines.join('\n'),
  };
}

/** Checks with a model chosen at run time (the CLI). */
export function checkAny(model: AnyModel, history: History<unknown, unknown>, options: CheckOptions = {}): CheckResult {
  return checkHistory(model, decodeHistory(model, history), options);
}
