// What a switch program is: a parser, ingress and egress stages, a deparser, and the tables,
// registers and counters each stage owns. A program is data plus plain functions; it knows
// nothing of actors. The same program runs staged (one actor per stage) or fused (one actor),
// and `defineProgram` checks its structure the way a P4 compiler would before anything runs.
import type { Msg } from '../actors/index.ts';
import type { Packet } from './packet.ts';

export type MatchKind = 'exact' | 'ternary' | 'lpm';

/** One field of a table's key: its width and how to read it from the headers. */
export interface KeyField<H> {
  readonly name: string;
  /** Width in bits, 1..53 (keys are JavaScript numbers: 48-bit MACs and 32-bit IPv4 fit). */
  readonly bits: number;
  readonly get: (headers: H) => number;
}

export type ActionParams = Readonly<Record<string, number>>;

export interface ActionDef<H> {
  /** Parameter name -> width in bits: the action data stored with each entry. */
  readonly params?: Readonly<Record<string, number>>;
  readonly run: (pkt: Packet<H>, params: ActionParams) => void;
}

export interface ActionCall {
  readonly action: string;
  readonly params?: ActionParams;
}

export interface TableDecl<H> {
  readonly kind: 'table';
  readonly name: string;
  /** exact: every field exact; ternary: value/mask per field, with priorities; lpm: one field, longest prefix wins. */
  readonly match: MatchKind;
  readonly keys: readonly KeyField<H>[];
  /** Entries at most; an insert beyond it fails. */
  readonly size: number;
  readonly actions: Readonly<Record<string, ActionDef<H>>>;
  /** Runs on a miss; without it a miss does nothing (NoAction). */
  readonly defaultAction?: ActionCall;
}

export type CellBits = 8 | 16 | 32 | 64;
/** 8-, 16- and 32-bit cells are numbers; 64-bit cells are bigints (a BigUint64Array). */
export type CellValue<W extends CellBits> = W extends 64 ? bigint : number;

export interface RegisterDecl<W extends CellBits = CellBits> {
  readonly kind: 'register';
  readonly name: string;
  readonly cellBits: W;
  readonly size: number;
}

/** An array of packet-and-byte counters. */
export interface CounterDecl {
  readonly kind: 'counter';
  readonly name: string;
  readonly size: number;
}

export interface ApplyResult {
  readonly hit: boolean;
  /** The action that ran ('NoAction' on a miss without a default action). */
  readonly action: string;
}

/** One stateful ALU's view of a register array: exactly one of these calls per packet. */
export interface RegisterAccess<V> {
  read(index: number): V;
  write(index: number, value: V): void;
  /** Read-modify-write: stores `update(old)` and returns it. */
  rmw(index: number, update: (old: V) => V): V;
  /** Stores `value` and returns what was there. */
  exchange(index: number, value: V): V;
}

export interface CounterAccess {
  /** One packet of `pkt.payloadBytes` bytes. */
  count(index: number, pkt: Packet<unknown>): void;
}

/** What a stage's code may touch: only what the stage owns, each at most once per packet. */
export interface StageEnv<H> {
  readonly stage: string;
  apply(table: TableDecl<H>, pkt: Packet<H>): ApplyResult;
  register<W extends CellBits>(reg: RegisterDecl<W>): RegisterAccess<CellValue<W>>;
  counter(counter: CounterDecl): CounterAccess;
}

export interface StageDef<H> {
  readonly name: string;
  readonly tables: readonly TableDecl<H>[];
  readonly registers: readonly RegisterDecl[];
  readonly counters: readonly CounterDecl[];
  readonly apply: (pkt: Packet<H>, env: StageEnv<H>) => void;
}

export interface ProgramSpec<H> {
  readonly name: string;
  /** Extract headers from a message; undefined rejects it (dropped, counted as 'parse-error'). */
  readonly parse: (msg: Msg, ingressPort: number) => H | undefined;
  /** Build the outgoing message from a packet's headers and its original message. */
  readonly deparse: (pkt: Packet<H>) => Msg;
  readonly ingress: readonly StageDef<H>[];
  readonly egress?: readonly StageDef<H>[];
  /** Size of a message in bytes; default its `sizeBytes` or DEFAULT_PAYLOAD_BYTES. */
  readonly payloadBytes?: (msg: Msg) => number;
  /** Copy headers for multicast copies and clones; default a deep copy of plain data. */
  readonly cloneHeaders?: (h: H) => H;
}

export interface SwitchProgram<H> extends ProgramSpec<H> {
  readonly egress: readonly StageDef<H>[];
  /** Every table, register and counter, with the stage that owns it. */
  readonly owner: ReadonlyMap<TableDecl<H> | RegisterDecl | CounterDecl, string>;
  readonly tables: readonly TableDecl<H>[];
  readonly registers: readonly RegisterDecl[];
  readonly counters: readonly CounterDecl[];
  /** Which gress and position each stage has. */
  readonly stageIndex: ReadonlyMap<string, { gress: 'ingress' | 'egress'; index: number }>;
}

export class ProgramError extends Error {
  override readonly name = 'ProgramError';
  constructor(readonly program: string, readonly problems: readonly string[]) {
    super(`switch program '${program}' is malformed:\n  - ${problems.join('\n  - ')}`);
  }
}

// ---- declaring things ----------------------------------------------------------------------

export function table<H>(decl: Omit<TableDecl<H>, 'kind'>): TableDecl<H> {
  return { kind: 'table', ...decl };
}

export function register<W extends CellBits>(name: string, cellBits: W, size: number): RegisterDecl<W> {
  return { kind: 'register', name, cellBits, size };
}

export function counter(name: string, size: number): CounterDecl {
  return { kind: 'counter', name, size };
}

export interface StageUses<H> {
  readonly tables?: readonly TableDecl<H>[];
  readonly registers?: readonly RegisterDecl<any>[];
  readonly counters?: readonly CounterDecl[];
}

/** A stage: the tables, registers and counters it owns, and its code. */
export function stage<H>(name: string, uses: StageUses<H>, apply: (pkt: Packet<H>, env: StageEnv<H>) => void): StageDef<H> {
  return { name, tables: uses.tables ?? [], registers: (uses.registers ?? []) as RegisterDecl[], counters: uses.counters ?? [], apply };
}

const NAME = /^[A-Za-z0-9_.@$-]+$/;
export const CELL_BITS: readonly number[] = [8, 16, 32, 64];
/** Key fields are JavaScript numbers: exact up to 2^53. */
export const MAX_KEY_FIELD_BITS = 53;
export const MAX_PARAM_BITS = 53;

/**
 * Check a program's structure and index it. Every problem is listed at once: names, key
 * widths, actions, and above all ownership: a table, register or counter lives in exactly one
 * stage (on hardware its memory and ALU are in that stage; no other stage can reach them).
 */
export function defineProgram<H>(spec: ProgramSpec<H>): SwitchProgram<H> {
  const problems: string[] = [];
  const egress = spec.egress ?? [];
  const owner = new Map<TableDecl<H> | RegisterDecl | CounterDecl, string>();
  const stageIndex = new Map<string, { gress: 'ingress' | 'egress'; index: number }>();
  const names = new Map<string, string>();
  const tables: TableDecl<H>[] = [];
  const registers: RegisterDecl[] = [];
  const counters: CounterDecl[] = [];

  if (!NAME.test(spec.name)) problems.push(`program name '${spec.name}' must use letters, digits and _.@$-`);
  const claim = (decl: TableDecl<H> | RegisterDecl | CounterDecl, stageName: string): void => {
    const what = `${decl.kind} '${decl.name}'`;
    const prev = owner.get(decl);
    if (prev !== undefined) {
      problems.push(`${what} is claimed by stages '${prev}' and '${stageName}': an array or table lives in exactly one stage`);
      return;
    }
    const taken = names.get(decl.name);
    if (taken !== undefined) problems.push(`${what}: the name is already used by ${taken}`);
    names.set(decl.name, what);
    owner.set(decl, stageName);
  };
  for (const [gress, stages] of [['ingress', spec.ingress], ['egress', egress]] as const) {
    stages.forEach((s, index) => {
      if (!NAME.test(s.name)) problems.push(`${gress} stage name '${s.name}' must use letters, digits and _.@$-`);
      if (stageIndex.has(s.name)) problems.push(`stage name '${s.name}' is used twice`);
      stageIndex.set(s.name, { gress, index });
      for (const t of s.tables) { claim(t, s.name); tables.push(t); problems.push(...checkTable(t)); }
      for (const r of s.registers) { claim(r, s.name); registers.push(r); problems.push(...checkRegister(r)); }
      for (const c of s.counters) { claim(c, s.name); counters.push(c); problems.push(...checkCounter(c)); }
    });
  }
  if (spec.ingress.length === 0) problems.push('a program needs at least one ingress stage');
  if (problems.length > 0) throw new ProgramError(spec.name, problems);
  return { ...spec, egress, owner, tables, registers, counters, stageIndex };
}

function checkTable<H>(t: TableDecl<H>): string[] {
  const out: string[] = [];
  const what = `table '${t.name}'`;
  if (!NAME.test(t.name)) out.push(`${what}: name must use letters, digits and _.@$-`);
  if (!Number.isInteger(t.size) || t.size < 1) out.push(`${what}: size must be a positive integer, got ${t.size}`);
  if (t.keys.length === 0) out.push(`${what}: a table needs at least one key field`);
  if (t.match === 'lpm' && t.keys.length !== 1) out.push(`${what}: an lpm table has exactly one key field, got ${t.keys.length}`);
  for (const k of t.keys) {
    if (!Number.isInteger(k.bits) || k.bits < 1 || k.bits > MAX_KEY_FIELD_BITS) {
      out.push(`${what}: key field '${k.name}' is ${k.bits} bits; allowed 1..${MAX_KEY_FIELD_BITS}`);
    }
  }
  const actionNames = Object.keys(t.actions);
  if (actionNames.length === 0) out.push(`${what}: a table needs at least one action`);
  for (const [name, a] of Object.entries(t.actions)) {
    for (const [p, bits] of Object.entries(a.params ?? {})) {
      if (!Number.isInteger(bits) || bits < 1 || bits > MAX_PARAM_BITS) out.push(`${what}: action '${name}' parameter '${p}' is ${bits} bits; allowed 1..${MAX_PARAM_BITS}`);
    }
  }
  if (t.defaultAction) {
    const err = checkActionCall(t, t.defaultAction);
    if (err) out.push(`${what}: default action: ${err}`);
  }
  return out;
}

function checkRegister(r: RegisterDecl): string[] {
  const out: string[] = [];
  if (!NAME.test(r.name)) out.push(`register '${r.name}': name must use letters, digits and _.@$-`);
  if (!CELL_BITS.includes(r.cellBits)) out.push(`register '${r.name}': cells are ${r.cellBits} bits; allowed 8, 16, 32 or 64`);
  if (!Number.isInteger(r.size) || r.size < 1) out.push(`register '${r.name}': size must be a positive integer, got ${r.size}`);
  return out;
}

function checkCounter(c: CounterDecl): string[] {
  const out: string[] = [];
  if (!NAME.test(c.name)) out.push(`counter '${c.name}': name must use letters, digits and _.@$-`);
  if (!Number.isInteger(c.size) || c.size < 1) out.push(`counter '${c.name}': size must be a positive integer, got ${c.size}`);
  return out;
}

/** null when `call` names an action of `t` with exactly its parameters, in range; else why not. */
export function checkActionCall<H>(t: TableDecl<H>, call: ActionCall): string | null {
  const a = Object.prototype.hasOwnProperty.call(t.actions, call.action) ? t.actions[call.action] : undefined;
  if (!a) return `table '${t.name}' has no action '${call.action}' (actions: ${Object.keys(t.actions).join(', ')})`;
  const declared = a.params ?? {};
  const given = call.params ?? {};
  for (const [p, bits] of Object.entries(declared)) {
    const v = given[p];
    if (v === undefined) return `action '${call.action}' needs parameter '${p}'`;
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) return `action '${call.action}' parameter '${p}' = ${v} does not fit in ${bits} bits`;
  }
  for (const p of Object.keys(given)) {
    if (!(p in declared)) return `action '${call.action}' has no parameter '${p}'`;
  }
  return null;
}

/** Bits of action data an entry of `t` stores: an action id plus the widest action's parameters. */
export function actionDataBits<H>(t: TableDecl<H>): number {
  const actions = Object.values(t.actions);
  const idBits = actions.length > 1 ? Math.ceil(Math.log2(actions.length)) : 0;
  let widest = 0;
  for (const a of actions) widest = Math.max(widest, Object.values(a.params ?? {}).reduce((s, b) => s + b, 0));
  return idBits + widest;
}

export function keyBits<H>(t: TableDecl<H>): number {
  return t.keys.reduce((s, k) => s + k.bits, 0);
}
