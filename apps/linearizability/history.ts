// Histories of client operations, the record every Switchboard run keeps for the
// linearizability checker (DESIGN.md "Correctness"), and the parsers that read recorded histories:
// the project's own JSON format, Jepsen etcd logs and the EDN-like kv format of the testdata.
//
// Times are plain numbers in whatever unit the recorder used (virtual ms in sim, real ms
// otherwise); parsed logs have no clock, so their times are line numbers: only the order of
// events matters to linearizability.
//
// This module does no I/O: callers read files and hand the text over.

export type ClientId = number | string;

/** One client operation: an invocation and, if known, its result. */
export interface Operation<I = unknown, O = unknown> {
  /** Position in `History.operations` (0-based); explanations and the HTML view name operations by it. */
  id: number;
  /** The client (Jepsen: process) that issued it. A client has at most one operation open. */
  client: ClientId;
  input: I;
  /** The result; `undefined` when the outcome is unknown (`returnTime === null`). */
  output?: O;
  invokeTime: number;
  /**
   * When the result arrived; `null` when the outcome is unknown (no answer, timed out, crashed
   * client): the operation may have taken effect at any point after `invokeTime`, or never.
   */
  returnTime: number | null;
  /** Line of the source text the invocation came from, when parsed. */
  line?: number;
}

export interface History<I = unknown, O = unknown> {
  /** The model the history is meant for (informational; the JSON format may carry it). */
  model?: string;
  operations: Operation<I, O>[];
}

/** A malformed history: `line` (1-based) and `column` point into the text that was parsed. */
export class HistoryParseError extends Error {
  override readonly name = 'HistoryParseError';
  constructor(readonly reason: string, readonly line?: number, readonly column?: number) {
    super(line === undefined ? reason : `line ${line}${column === undefined ? '' : `:${column}`}: ${reason}`);
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Recording

/**
 * Records a history as a run goes: `invoke` when a client sends a request, `ok` when its answer
 * arrives, `unknown` when it gives up on it (timeout) and `failed` when the operation is known not
 * to have happened (the system said so). Times come from the caller (ctx.now() in an actor).
 */
export class HistoryRecorder<I, O> {
  private readonly ops: Operation<I, O>[] = [];
  private readonly dropped = new Set<number>();
  private readonly open = new Map<ClientId, number>();

  constructor(private readonly model?: string) {}

  /** Starts an operation; returns its handle. A client may have only one operation open. */
  invoke(client: ClientId, input: I, time: number): number {
    const previous = this.open.get(client);
    if (previous !== undefined) {
      throw new Error(`client ${String(client)} invokes an operation while operation ${previous} is still open`);
    }
    const last = this.ops[this.ops.length - 1];
    assert(last === undefined || time >= last.invokeTime, 'invocations are recorded in time order');
    const id = this.ops.length;
    this.ops.push({ id, client, input, invokeTime: time, returnTime: null });
    this.open.set(client, id);
    return id;
  }

  /** The operation returned `output` at `time`. */
  ok(handle: number, output: O, time: number): void {
    const op = this.close(handle);
    assert(time >= op.invokeTime, 'an operation returns after its invocation');
    op.output = output;
    op.returnTime = time;
  }

  /** The outcome will never be known (timeout): the operation may take effect later, or never. */
  unknown(handle: number): void {
    this.close(handle);
  }

  /** The operation certainly did not take effect: it is left out of the history. */
  failed(handle: number): void {
    this.close(handle);
    this.dropped.add(handle);
  }

  /** The history so far; operations still open count as unknown outcomes. Ids are renumbered. */
  history(): History<I, O> {
    const operations: Operation<I, O>[] = [];
    for (const op of this.ops) {
      if (this.dropped.has(op.id)) continue;
      operations.push({ ...op, id: operations.length });
    }
    return this.model === undefined ? { operations } : { model: this.model, operations };
  }

  private close(handle: number): Operation<I, O> {
    const op = this.ops[handle];
    if (op === undefined || this.open.get(op.client) !== handle) {
      throw new Error(`operation ${handle} is not open`);
    }
    this.open.delete(op.client);
    return op;
  }
}

// ---------------------------------------------------------------------------------------------
// The JSON format (`--format json`)
//
//   { "model": "etcd",                        optional
//     "operations": [
//       { "client": 0, "input": {"op": "write", "value": 3}, "output": {},
//         "invokeTime": 0, "returnTime": 10 },
//       { "client": 1, "input": {"op": "read"}, "output": {"value": 3},
//         "invokeTime": 4, "returnTime": 12 },
//       { "client": 2, "input": {"op": "cas", "from": 3, "to": 4},
//         "invokeTime": 5, "returnTime": null } ] }      unknown outcome: no output
//
// A bare array of operations is accepted too. `id` and `line` are optional and ignored: ids are
// positions. Inputs and outputs are checked by the model (see models.ts), not here.

export function parseJsonHistory(text: string): History<unknown, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const pos = locateJsonError(text);
    const { line, column } = lineColumn(text, pos.offset);
    throw new HistoryParseError(`invalid JSON: ${pos.reason ?? (err as Error).message}`, line, column);
  }
  let rawOps: unknown;
  let model: string | undefined;
  if (Array.isArray(doc)) {
    rawOps = doc;
  } else if (isObject(doc)) {
    rawOps = doc['operations'];
    if (doc['model'] !== undefined) {
      if (typeof doc['model'] !== 'string') throw new HistoryParseError('"model" must be a string', 1);
      model = doc['model'];
    }
    if (!Array.isArray(rawOps)) throw new HistoryParseError('expected an object with an "operations" array', 1);
  } else {
    throw new HistoryParseError('expected an array of operations or an object with an "operations" array', 1);
  }
  const ops = rawOps as unknown[];
  const lines = operationLines(text, ops.length);
  const operations: Operation<unknown, unknown>[] = [];
  for (let i = 0; i < ops.length; i++) {
    const line = lines?.[i];
    const problem = (reason: string): HistoryParseError => new HistoryParseError(`operations[${i}]: ${reason}`, line);
    const raw = ops[i];
    if (!isObject(raw)) throw problem('an operation must be an object');
    const client = raw['client'] ?? raw['process'];
    if (typeof client !== 'number' && typeof client !== 'string') throw problem('"client" must be a number or a string');
    const invokeTime = raw['invokeTime'];
    if (typeof invokeTime !== 'number' || !Number.isFinite(invokeTime)) throw problem('"invokeTime" must be a finite number');
    const returnTime = raw['returnTime'] ?? null;
    if (returnTime !== null && (typeof returnTime !== 'number' || !Number.isFinite(returnTime))) {
      throw problem('"returnTime" must be a finite number, or null for an unknown outcome');
    }
    if (returnTime !== null && returnTime < invokeTime) throw problem('"returnTime" is before "invokeTime"');
    if (!('input' in raw)) throw problem('"input" is missing');
    const op: Operation<unknown, unknown> = { id: i, client, input: raw['input'], invokeTime, returnTime };
    if (returnTime !== null) op.output = raw['output'] ?? null;
    if (line !== undefined) op.line = line;
    operations.push(op);
  }
  return model === undefined ? { operations } : { model, operations };
}

/** Writes a history in the JSON format, one operation per line (so that errors have useful line numbers). */
export function formatJsonHistory(history: History<unknown, unknown>): string {
  const lines = history.operations.map((op) => {
    const o: Record<string, unknown> = { client: op.client, input: op.input };
    if (op.returnTime !== null) o['output'] = op.output ?? null;
    o['invokeTime'] = op.invokeTime;
    o['returnTime'] = op.returnTime;
    return '    ' + JSON.stringify(o);
  });
  const head = history.model === undefined ? '{\n' : `{\n  "model": ${JSON.stringify(history.model)},\n`;
  return `${head}  "operations": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * A small JSON scanner that only finds where the text stops being JSON (JSON.parse does not
 * always say) and where the elements of the "operations" array start. Used on error paths only.
 */
class JsonScanner {
  pos = 0;
  /** Offsets of the elements of the operations array (top-level array or "operations" member). */
  readonly opOffsets: number[] = [];
  constructor(private readonly s: string) {}

  fail(reason: string): never {
    throw new JsonScanError(this.pos, reason);
  }
  ws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }
  document(): void {
    this.ws();
    this.value(0, false);
    this.ws();
    if (this.pos < this.s.length) this.fail('unexpected text after the JSON value');
  }
  value(depth: number, isOps: boolean): void {
    this.ws();
    if (this.pos >= this.s.length) this.fail('unexpected end of input');
    const c = this.s[this.pos]!;
    if (c === '{') this.object(depth);
    else if (c === '[') this.array(depth, isOps || depth === 0);
    else if (c === '"') this.string();
    else if (c === 't') this.literal('true');
    else if (c === 'f') this.literal('false');
    else if (c === 'n') this.literal('null');
    else if (c === '-' || (c >= '0' && c <= '9')) this.number();
    else this.fail(`unexpected character ${JSON.stringify(c)}`);
  }
  object(depth: number): void {
    this.pos++;
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.fail('expected a double-quoted property name');
      const start = this.pos;
      this.string();
      const key = this.s.slice(start, this.pos);
      this.ws();
      if (this.s[this.pos] !== ':') this.fail("expected ':' after a property name");
      this.pos++;
      this.value(depth + 1, depth === 0 && key === '"operations"');
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') this.pos++;
      else if (c === '}') {
        this.pos++;
        return;
      } else this.fail("expected ',' or '}' after a property value");
    }
  }
  array(depth: number, isOps: boolean): void {
    this.pos++;
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (isOps) this.opOffsets.push(this.pos);
      this.value(depth + 1, false);
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') this.pos++;
      else if (c === ']') {
        this.pos++;
        return;
      } else this.fail("expected ',' or ']' after an array element");
    }
  }
  string(): void {
    const s = this.s;
    this.pos++;
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === '\\') {
        const e = s[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(this.pos + 2, this.pos + 6))) this.fail('bad \\u escape');
          this.pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.pos += 2;
        else this.fail('bad escape in a string');
      } else if (c.charCodeAt(0) < 32) this.fail('control character in a string');
      else this.pos++;
    }
    this.fail('unterminated string');
  }
  literal(word: string): void {
    if (this.s.startsWith(word, this.pos)) this.pos += word.length;
    else this.fail(`unexpected token (expected ${word})`);
  }
  number(): void {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.pos, this.pos + 400));
    if (m === null) this.fail('bad number');
    this.pos += m[0].length;
  }
}

class JsonScanError extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(reason);
  }
}

function locateJsonError(text: string): { offset: number; reason?: string } {
  const scanner = new JsonScanner(text);
  try {
    scanner.document();
  } catch (err) {
    if (err instanceof JsonScanError) return { offset: err.offset, reason: err.reason };
    throw err;
  }
  return { offset: 0 };
}

/** The line on which each element of the operations array starts (undefined for huge texts). */
function operationLines(text: string, count: number): number[] | undefined {
  if (text.length > 20_000_000) return undefined;
  const scanner = new JsonScanner(text);
  scanner.document();
  const offsets = scanner.opOffsets;
  if (offsets.length !== count) return undefined;
  const lines: number[] = [];
  let line = 1;
  let at = 0;
  for (const offset of offsets) {
    for (; at < offset; at++) if (text.charCodeAt(at) === 10) line++;
    lines.push(line);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Jepsen etcd logs (`--format jepsen`)
//
//   INFO  jepsen.util - 3	:invoke	:read	nil
//   INFO  jepsen.util - 3	:ok	:read	4
//
// Rules (testdata/linearizability/README.md): the number is the process; :invoke opens an
// operation, :ok closes it, :fail closes a cas that did not apply (the register held something
// else), :info leaves the outcome unknown (the operation may take effect at any later point, or
// never), `:fail :read :timed-out` is a read that constrains nothing (any `:fail ... :timed-out`
// is taken as an unknown outcome), an invocation never answered is unknown too. Any other :fail
// of a write or a read means it did not happen: it is left out. Lines that are not events are skipped; a line that starts like an
// event (`jepsen.util - <process> :`) but does not parse is an error.
//
// Inputs and outputs are those of the etcd model (models.ts):
//   {op:'read'} → {value: number|null};  {op:'write', value} → {};  {op:'cas', from, to} → {ok}

const jepsenEventStart = /^\s*(?:INFO\s+)?jepsen\.util\s+-\s+(\d+)\s+:/;
const jepsenEvent = /^\s*(?:INFO\s+)?jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;

type JepsenValue = { kind: 'nil' } | { kind: 'int'; value: number } | { kind: 'pair'; from: number; to: number } | { kind: 'keyword'; name: string };

function parseJepsenValue(text: string): JepsenValue | undefined {
  if (text === 'nil') return { kind: 'nil' };
  if (/^-?\d+$/.test(text)) return { kind: 'int', value: Number(text) };
  const pair = /^\[\s*(-?\d+)\s+(-?\d+)\s*\]$/.exec(text);
  if (pair !== null) return { kind: 'pair', from: Number(pair[1]), to: Number(pair[2]) };
  const kw = /^:([\w.-]+)$/.exec(text);
  if (kw !== null) return { kind: 'keyword', name: kw[1]! };
  return undefined;
}

export function parseJepsenLog(text: string): History<unknown, unknown> {
  const lines = text.split(/\r?\n/);
  const ops: (Operation<unknown, unknown> | null)[] = [];
  const open = new Map<number, { index: number; f: string; arg: JepsenValue; line: number }>();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (!jepsenEventStart.test(line)) continue;
    const m = jepsenEvent.exec(line);
    if (m === null) throw new HistoryParseError(`malformed Jepsen event: ${JSON.stringify(line.trim())}`, lineNo);
    const process = Number(m[1]);
    const type = m[2]!;
    const f = m[3]!;
    const arg = parseJepsenValue(m[4]!);
    if (arg === undefined) throw new HistoryParseError(`malformed value ${JSON.stringify(m[4])} of :${f}`, lineNo);
    const current = open.get(process);
    if (type === 'invoke') {
      if (current !== undefined) {
        throw new HistoryParseError(`process ${process} invokes :${f} while its :${current.f} from line ${current.line} is still open`, lineNo);
      }
      let input: unknown;
      if (f === 'read') {
        if (arg.kind !== 'nil') throw new HistoryParseError(':invoke :read takes nil', lineNo);
        input = { op: 'read' };
      } else if (f === 'write') {
        if (arg.kind !== 'int') throw new HistoryParseError(':invoke :write takes an integer', lineNo);
        input = { op: 'write', value: arg.value };
      } else {
        if (arg.kind !== 'pair') throw new HistoryParseError(':invoke :cas takes a pair [from to]', lineNo);
        input = { op: 'cas', from: arg.from, to: arg.to };
      }
      open.set(process, { index: ops.length, f, arg, line: lineNo });
      ops.push({ id: 0, client: process, input, invokeTime: lineNo, returnTime: null, line: lineNo });
      continue;
    }
    if (current === undefined) throw new HistoryParseError(`process ${process} returns :${f} but has no open operation`, lineNo);
    if (current.f !== f) {
      throw new HistoryParseError(`process ${process} returns :${f} but its open operation (line ${current.line}) is :${current.f}`, lineNo);
    }
    open.delete(process);
    const op = ops[current.index]!;
    if (type === 'info') continue; // unknown outcome: stays with returnTime null
    if (type === 'ok') {
      if (f === 'read') {
        if (arg.kind === 'nil') op.output = { value: null };
        else if (arg.kind === 'int') op.output = { value: arg.value };
        else throw new HistoryParseError(':ok :read returns nil or an integer', lineNo);
      } else if (f === 'write') {
        if (arg.kind !== 'int' || current.arg.kind !== 'int' || arg.value !== current.arg.value) {
          throw new HistoryParseError(`:ok :write ${m[4]} does not match the invocation on line ${current.line}`, lineNo);
        }
        op.output = {};
      } else {
        if (!samePair(arg, current.arg)) throw new HistoryParseError(`:ok :cas ${m[4]} does not match the invocation on line ${current.line}`, lineNo);
        op.output = { ok: true };
      }
      op.returnTime = lineNo;
      continue;
    }
    // :fail
    if (arg.kind === 'keyword' && arg.name === 'timed-out') {
      // No answer: for a read, it constrains nothing; for a write or a cas, the outcome is
      // unknown (a fail that timed out cannot promise the operation did not happen).
    } else if (f === 'cas') {
      if (!samePair(arg, current.arg)) throw new HistoryParseError(`:fail :cas ${m[4]} does not match the invocation on line ${current.line}`, lineNo);
      op.output = { ok: false };
      op.returnTime = lineNo;
    } else {
      ops[current.index] = null; // did not happen
    }
  }
  return { model: 'etcd', operations: renumber(ops) };
}

function samePair(a: JepsenValue, b: JepsenValue): boolean {
  return a.kind === 'pair' && b.kind === 'pair' && a.from === b.from && a.to === b.to;
}

function renumber(ops: (Operation<unknown, unknown> | null)[]): Operation<unknown, unknown>[] {
  const out: Operation<unknown, unknown>[] = [];
  for (const op of ops) {
    if (op === null) continue;
    op.id = out.length;
    out.push(op);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The EDN-like kv format (`--format edn`), one event per line:
//
//   {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
//   {:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
//
// :type is :invoke, :ok, :fail (did not happen; for cas: the value differed) or :info (unknown
// outcome). With a :key, :f is get, put, append or cas (value [from to]) and the inputs are those
// of the kv model; without one, read, write or cas, as in the etcd model. Events of a process
// that is not a number (the nemesis) are skipped, as are blank lines and `;` comments.

type EdnValue = null | boolean | number | string | { keyword: string } | EdnValue[] | Map<string, EdnValue>;

class EdnReader {
  pos = 0;
  constructor(private readonly s: string, private readonly line: number) {}

  fail(reason: string): never {
    throw new HistoryParseError(reason, this.line, this.pos + 1);
  }
  ws(): void {
    while (this.pos < this.s.length && /[\s,]/.test(this.s[this.pos]!)) this.pos++;
  }
  read(): EdnValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) this.fail('unexpected end of line');
    if (c === '{') return this.map();
    if (c === '[' || c === '(') return this.vector(c === '[' ? ']' : ')');
    if (c === '"') return this.string();
    if (c === ':') {
      const m = /^:[^\s,{}[\]()"]+/.exec(this.s.slice(this.pos));
      if (m === null) this.fail('empty keyword');
      this.pos += m[0].length;
      return { keyword: m[0].slice(1) };
    }
    const m = /^[^\s,{}[\]()"]+/.exec(this.s.slice(this.pos));
    if (m === null) this.fail(`unexpected ${JSON.stringify(c)}`);
    const word = m[0];
    if (word === 'nil') return (this.pos += 3), null;
    if (word === 'true') return (this.pos += 4), true;
    if (word === 'false') return (this.pos += 5), false;
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?N?$/.test(word)) {
      this.pos += word.length;
      return Number(word.replace(/N$/, ''));
    }
    this.fail(`unexpected symbol ${JSON.stringify(word)}`);
  }
  map(): Map<string, EdnValue> {
    this.pos++;
    const out = new Map<string, EdnValue>();
    for (;;) {
      this.ws();
      if (this.s[this.pos] === '}') {
        this.pos++;
        return out;
      }
      const keyStart = this.pos;
      const key = this.read();
      if (key === null || typeof key !== 'object' || !('keyword' in key)) {
        this.pos = keyStart;
        this.fail('map keys must be keywords');
      }
      this.ws();
      if (this.s[this.pos] === '}' || this.pos >= this.s.length) this.fail(`no value for :${key.keyword}`);
      out.set(key.keyword, this.read());
    }
  }
  vector(close: string): EdnValue[] {
    this.pos++;
    const out: EdnValue[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.pos] === close) {
        this.pos++;
        return out;
      }
      if (this.pos >= this.s.length) this.fail(`unterminated ${close === ']' ? 'vector' : 'list'}`);
      out.push(this.read());
    }
  }
  string(): string {
    let out = '';
    this.pos++;
    while (this.pos < this.s.length) {
      const c = this.s[this.pos]!;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        const e = this.s[this.pos + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };
        if (e === undefined || map[e] === undefined) this.fail('bad escape in a string');
        out += map[e];
        this.pos += 2;
      } else {
        out += c;
        this.pos++;
      }
    }
    this.fail('unterminated string');
  }
}

function keywordName(v: EdnValue | undefined): string | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map) ? v.keyword : undefined;
}

export function parseEdnHistory(text: string): History<unknown, unknown> {
  const lines = text.split(/\r?\n/);
  const ops: (Operation<unknown, unknown> | null)[] = [];
  const open = new Map<number, { index: number; f: string; line: number; value: EdnValue }>();
  let sawKey = false;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith(';')) continue;
    const reader = new EdnReader(line, lineNo);
    const ev = reader.read();
    reader.ws();
    if (reader.pos < line.length) reader.fail('unexpected text after the event');
    if (!(ev instanceof Map)) throw new HistoryParseError('an event must be a map {...}', lineNo);
    const processValue = ev.get('process');
    if (typeof processValue !== 'number') {
      if (keywordName(processValue) !== undefined) continue; // :nemesis and the like
      throw new HistoryParseError(':process must be an integer', lineNo);
    }
    const type = keywordName(ev.get('type'));
    if (type === undefined || !['invoke', 'ok', 'fail', 'info'].includes(type)) {
      throw new HistoryParseError(':type must be :invoke, :ok, :fail or :info', lineNo);
    }
    const f = keywordName(ev.get('f'));
    if (f === undefined) throw new HistoryParseError(':f must be a keyword', lineNo);
    const hasKey = ev.has('key');
    const key = ev.get('key');
    const value = ev.get('value') ?? null;
    const allowed = hasKey ? ['get', 'put', 'append', 'cas'] : ['read', 'write', 'cas'];
    if (!allowed.includes(f)) {
      throw new HistoryParseError(`:f :${f} is not one of ${allowed.map((x) => ':' + x).join(' ')}${hasKey ? ' (an event with a :key)' : ''}`, lineNo);
    }
    if (hasKey) {
      sawKey = true;
      if (typeof key !== 'string' && typeof key !== 'number') throw new HistoryParseError(':key must be a string or a number', lineNo);
    }
    const current = open.get(processValue);
    if (type === 'invoke') {
      if (current !== undefined) {
        throw new HistoryParseError(`process ${processValue} invokes :${f} while its :${current.f} from line ${current.line} is still open`, lineNo);
      }
      const k = String(key);
      let input: unknown;
      const pair = (): [EdnValue, EdnValue] => {
        if (!Array.isArray(value) || value.length !== 2) throw new HistoryParseError(`:cas takes [from to]`, lineNo);
        return [value[0]!, value[1]!];
      };
      const scalar = (v: EdnValue): unknown => {
        if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
        throw new HistoryParseError(`:${f} takes a string, a number or nil`, lineNo);
      };
      switch (f) {
        case 'get': input = { op: 'get', key: k }; break;
        case 'put': case 'append': input = { op: f, key: k, value: scalar(value) }; break;
        case 'read': input = { op: 'read' }; break;
        case 'write': input = { op: 'write', value: scalar(value) }; break;
        default: {
          const [from, to] = pair();
          input = hasKey ? { op: 'cas', key: k, from: scalar(from), to: scalar(to) } : { op: 'cas', from: scalar(from), to: scalar(to) };
        }
      }
      open.set(processValue, { index: ops.length, f, line: lineNo, value });
      ops.push({ id: 0, client: processValue, input, invokeTime: lineNo, returnTime: null, line: lineNo });
      continue;
    }
    if (current === undefined) throw new HistoryParseError(`process ${processValue} returns :${f} but has no open operation`, lineNo);
    if (current.f !== f) {
      throw new HistoryParseError(`process ${processValue} returns :${f} but its open operation (line ${current.line}) is :${current.f}`, lineNo);
    }
    open.delete(processValue);
    const op = ops[current.index]!;
    if (type === 'info') continue;
    if (type === 'fail') {
      if (f === 'cas') {
        op.output = { ok: false };
        op.returnTime = lineNo;
      } else {
        ops[current.index] = null; // did not happen
      }
      continue;
    }
    if (f === 'get' || f === 'read') {
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new HistoryParseError(`:ok :${f} returns a string, a number or nil`, lineNo);
      }
      op.output = { value };
    } else if (f === 'cas') op.output = { ok: true };
    else op.output = {};
    op.returnTime = lineNo;
  }
  const operations = renumber(ops);
  return sawKey ? { model: 'kv', operations } : { operations };
}

export type HistoryFormat = 'json' | 'jepsen' | 'edn';

export function parseHistory(text: string, format: HistoryFormat): History<unknown, unknown> {
  switch (format) {
    case 'json': return parseJsonHistory(text);
    case 'jepsen': return parseJepsenLog(text);
    case 'edn': return parseEdnHistory(text);
  }
}
