// Sequential specifications for the linearizability checker: a model says what a single copy of
// the object would answer. The checker asks a model for one transition at a time and caches every
// answer, so models favour clarity over speed; only `hash` should be cheap and spread well.

export type Scalar = string | number | boolean | null;

export interface StepResult<S> {
  /** Could the operation, with this output, take effect in this state? */
  ok: boolean;
  /** The state after it (meaningful only when ok). */
  next: S;
}

export interface Model<S, I, O> {
  readonly name: string;
  init(): S;
  /**
   * Applies `input` to `state` and says whether `output` is what the object would answer.
   * `output === undefined` means the outcome is unknown: accept any state the operation could
   * take effect in, and give the state after it.
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  equals(a: S, b: S): boolean;
  /** A 32-bit integer; equal states must hash alike. */
  hash(state: S): number;
  /**
   * Optional, faster than hash/equals: a primitive (string, number, boolean, null) that two
   * states share exactly when they are equal. The checker then interns states with a Map.
   */
  key?(state: S): Scalar;
  /**
   * P-compositionality: operations on different partitions are independent, so each partition is
   * checked alone (much faster). A partitioned model's state is that of one partition.
   */
  partitionKey?(input: I): string;
  describeOperation(input: I, output: O | undefined): string;
  describeState(state: S): string;
  /** Checks a JSON input (throws an Error that says what is wrong). */
  decodeInput(raw: unknown): I;
  /** Checks a JSON output for the given input (throws an Error that says what is wrong). */
  decodeOutput(raw: unknown, input: I): O;
}

/** A model whose types are not known statically (the CLI picks one by name). */
export type AnyModel = Model<any, any, any>;

// ---------------------------------------------------------------------------------------------
// Helpers

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isScalar(x: unknown): x is Scalar {
  return x === null || typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
}

function scalarField(raw: Record<string, unknown>, field: string, what: string): Scalar {
  const v = raw[field];
  if (!isScalar(v)) throw new Error(`${what}: "${field}" must be a string, a number, a boolean or null`);
  return v;
}

function opField(raw: unknown, allowed: readonly string[], what: string): { op: string; raw: Record<string, unknown> } {
  if (!isRecord(raw)) throw new Error(`${what} must be an object like {"op": "${allowed[0]}", ...}`);
  const op = raw['op'];
  if (typeof op !== 'string' || !allowed.includes(op)) {
    throw new Error(`${what}: "op" must be one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}`);
  }
  return { op, raw };
}

/** FNV-1a over the characters of a string, with a final avalanche. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

export function hashScalar(v: Scalar): number {
  if (v === null) return 0x2545f491;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) return mix32(v ^ 0x5bd1e995);
    return hashString(`n:${v}`);
  }
  if (typeof v === 'boolean') return v ? 0x1b873593 : 0x68e31da4;
  return hashString(v);
}

export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h | 0;
}

function show(v: Scalar): string {
  return v === null ? 'nil' : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Long strings (kv values grow with every append) are shown by their end, where they differ. */
export function showValue(v: Scalar, max = 40): string {
  const s = show(v);
  if (s.length <= max) return s;
  return typeof v === 'string' ? `"…${v.slice(v.length - (max - 4))}"` : `${s.slice(0, max - 1)}…`;
}

// ---------------------------------------------------------------------------------------------
// register: read and write of one value, empty (null) at first.

export type RegisterInput = { op: 'read' } | { op: 'write'; value: Scalar };
/** A read's output has the value read; a write's output is {}. */
export interface RegisterOutput { value?: Scalar }

export function registerModel(initial: Scalar = null): Model<Scalar, RegisterInput, RegisterOutput> {
  return {
    name: 'register',
    init: () => initial,
    step(state, input, output) {
      if (input.op === 'write') return { ok: true, next: input.value };
      return { ok: output === undefined || output.value === state, next: state };
    },
    equals: (a, b) => a === b,
    hash: hashScalar,
    key: (s) => s,
    describeOperation(input, output) {
      if (input.op === 'write') return `write(${showValue(input.value)})${output === undefined ? ' ?' : ''}`;
      return output === undefined ? 'read → ?' : `read → ${showValue(output.value ?? null)}`;
    },
    describeState: (s) => showValue(s),
    decodeInput(raw) {
      const { op, raw: r } = opField(raw, ['read', 'write'], 'register input');
      return op === 'read' ? { op: 'read' } : { op: 'write', value: scalarField(r, 'value', 'register write') };
    },
    decodeOutput(raw, input) {
      if (input.op === 'write') return {};
      if (!isRecord(raw) || !('value' in raw)) throw new Error('a register read output must be {"value": ...}');
      return { value: scalarField(raw, 'value', 'register read output') };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// etcd: Jepsen's etcd register: read, write and compare-and-set. The register starts empty (a
// read of nil saw no value); a cas that fails says the register held something other than `from`.

export type EtcdInput = { op: 'read' } | { op: 'write'; value: Scalar } | { op: 'cas'; from: Scalar; to: Scalar };
/** read: {value}; write: {}; cas: {ok} (false: the register held something other than `from`). */
export interface EtcdOutput { value?: Scalar; ok?: boolean }

export function etcdModel(initial: Scalar = null): Model<Scalar, EtcdInput, EtcdOutput> {
  return {
    name: 'etcd',
    init: () => initial,
    step(state, input, output) {
      switch (input.op) {
        case 'write':
          return { ok: true, next: input.value };
        case 'read':
          return { ok: output === undefined || output.value === state, next: state };
        case 'cas': {
          const matches = state === input.from;
          if (output === undefined) return { ok: true, next: matches ? input.to : state };
          const applied = output.ok === true;
          return { ok: applied === matches, next: applied ? input.to : state };
        }
      }
    },
    equals: (a, b) => a === b,
    hash: hashScalar,
    key: (s) => s,
    describeOperation(input, output) {
      switch (input.op) {
        case 'write': return `write(${showValue(input.value)})${output === undefined ? ' ?' : ''}`;
        case 'read': return output === undefined ? 'read → ?' : `read → ${showValue(output.value ?? null)}`;
        case 'cas': {
          const result = output === undefined ? '?' : output.ok === true ? 'ok' : 'fails';
          return `cas(${showValue(input.from)}→${showValue(input.to)}) ${result}`;
        }
      }
    },
    describeState: (s) => showValue(s),
    decodeInput(raw) {
      const { op, raw: r } = opField(raw, ['read', 'write', 'cas'], 'etcd input');
      if (op === 'read') return { op: 'read' };
      if (op === 'write') return { op: 'write', value: scalarField(r, 'value', 'etcd write') };
      return { op: 'cas', from: scalarField(r, 'from', 'etcd cas'), to: scalarField(r, 'to', 'etcd cas') };
    },
    decodeOutput(raw, input) {
      switch (input.op) {
        case 'write': return {};
        case 'read':
          if (!isRecord(raw) || !('value' in raw)) throw new Error('an etcd read output must be {"value": ...}');
          return { value: scalarField(raw, 'value', 'etcd read output') };
        case 'cas':
          if (!isRecord(raw) || typeof raw['ok'] !== 'boolean') throw new Error('an etcd cas output must be {"ok": true|false}');
          return { ok: raw['ok'] };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// kv: a map from keys to strings, every key the empty string at first; get, put, append and
// compare-and-set. Keys are independent, so the model is partitioned by key and its state is the
// value of one key. A get that returns nil read the empty string.

export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'append'; key: string; value: string }
  | { op: 'cas'; key: string; from: string; to: string };
/** get: {value}; put and append: {}; cas: {ok}. */
export interface KvOutput { value?: string; ok?: boolean }

/**
 * The value of one key, with a polynomial hash of it kept up to date as values are appended: a
 * state is made by every append during a search, and hashing it from scratch (or letting a Map
 * flatten it) would cost its whole length each time.
 */
export interface KvState {
  readonly text: string;
  readonly hash: number;
}

const KV_HASH_BASE = 0x01000193;

/** Polynomial hash of s (Σ c·B^(n-1-i) mod 2^32) and B^|s|, so that hash(a+b) = hash(a)·B^|b| + hash(b). */
function polyHash(s: string): { hash: number; power: number } {
  let hash = 0;
  let power = 1;
  for (let i = 0; i < s.length; i++) {
    hash = (Math.imul(hash, KV_HASH_BASE) + s.charCodeAt(i)) | 0;
    power = Math.imul(power, KV_HASH_BASE);
  }
  return { hash, power };
}

function kvState(text: string): KvState {
  return { text, hash: polyHash(text).hash };
}

/** The hashes of the values appended (a history has few distinct ones). */
const suffixHashes = new Map<string, { hash: number; power: number }>();

function kvAppend(state: KvState, suffix: string): KvState {
  let h = suffixHashes.get(suffix);
  if (h === undefined) {
    h = polyHash(suffix);
    if (suffixHashes.size < 100_000) suffixHashes.set(suffix, h);
  }
  return { text: state.text + suffix, hash: (Math.imul(state.hash, h.power) + h.hash) | 0 };
}

export function kvModel(): Model<KvState, KvInput, KvOutput> {
  const empty = kvState('');
  return {
    name: 'kv',
    init: () => empty,
    step(state, input, output) {
      switch (input.op) {
        case 'get':
          return { ok: output === undefined || output.value === state.text, next: state };
        case 'put':
          return { ok: true, next: kvState(input.value) };
        case 'append':
          return { ok: true, next: kvAppend(state, input.value) };
        case 'cas': {
          const matches = state.text === input.from;
          const applied = output === undefined ? matches : output.ok === true;
          const ok = output === undefined || applied === matches;
          return { ok, next: applied && ok ? kvState(input.to) : state };
        }
      }
    },
    equals: (a, b) => a.hash === b.hash && a.text === b.text,
    hash: (s) => mix32(s.hash),
    partitionKey: (input) => input.key,
    describeOperation(input, output) {
      const q = output === undefined ? ' ?' : '';
      switch (input.op) {
        case 'get': return `get(${JSON.stringify(input.key)}) → ${output === undefined ? '?' : showValue(output.value ?? null)}`;
        case 'put': return `put(${JSON.stringify(input.key)}, ${showValue(input.value)})${q}`;
        case 'append': return `append(${JSON.stringify(input.key)}, ${showValue(input.value)})${q}`;
        case 'cas': {
          const result = output === undefined ? '?' : output.ok === true ? 'ok' : 'fails';
          return `cas(${JSON.stringify(input.key)}, ${showValue(input.from, 20)}→${showValue(input.to, 20)}) ${result}`;
        }
      }
    },
    describeState: (s) => showValue(s.text),
    decodeInput(raw) {
      const { op, raw: r } = opField(raw, ['get', 'put', 'append', 'cas'], 'kv input');
      const key = r['key'];
      if (typeof key !== 'string' && typeof key !== 'number') throw new Error(`kv ${op}: "key" must be a string`);
      const k = String(key);
      const str = (field: string): string => {
        const v = r[field];
        if (typeof v === 'string') return v;
        if (typeof v === 'number') return String(v);
        if (v === null) return '';
        throw new Error(`kv ${op}: "${field}" must be a string`);
      };
      switch (op) {
        case 'get': return { op: 'get', key: k };
        case 'put': return { op: 'put', key: k, value: str('value') };
        case 'append': return { op: 'append', key: k, value: str('value') };
        default: return { op: 'cas', key: k, from: str('from'), to: str('to') };
      }
    },
    decodeOutput(raw, input) {
      switch (input.op) {
        case 'put': case 'append': return {};
        case 'get': {
          if (!isRecord(raw) || !('value' in raw)) throw new Error('a kv get output must be {"value": "..."}');
          const v = raw['value'];
          if (v === null) return { value: '' };
          if (typeof v === 'string') return { value: v };
          if (typeof v === 'number') return { value: String(v) };
          throw new Error('a kv get output must be {"value": "..."}');
        }
        case 'cas':
          if (!isRecord(raw) || typeof raw['ok'] !== 'boolean') throw new Error('a kv cas output must be {"ok": true|false}');
          return { ok: raw['ok'] };
      }
    },
  };
}

export type ModelName = 'register' | 'etcd' | 'kv';
export const modelNames: readonly ModelName[] = ['register', 'etcd', 'kv'];

export function modelByName(name: string): AnyModel | undefined {
  switch (name) {
    case 'register': return registerModel();
    case 'etcd': return etcdModel();
    case 'kv': return kvModel();
    default: return undefined;
  }
}
