// A stage at run time: the tables, register arrays and counters it owns, and the environment
// its code runs in. The environment enforces the hardware's rules on every packet:
//   - a stage reaches only what it owns (a register array's memory and stateful ALU sit in one
//     stage; the packet has left that stage before the next one runs),
//   - each register array, counter array and table is touched at most once per packet per pass
//     (one stateful ALU operation: a single read-modify-write in one clock).
// Breaking a rule is a bug in the program that a P4 compiler would have refused, so it rejects
// the whole program: the packet is dropped, and so is every later one, with the array and the
// stage named. The code of both execution modes (staged and fused) goes through this class.
import type { Packet } from './packet.ts';
import { markDrop } from './packet.ts';
import type {
  ApplyResult, CellBits, CellValue, CounterAccess, CounterDecl, RegisterAccess, RegisterDecl, StageDef, StageEnv,
  SwitchProgram, TableDecl,
} from './program.ts';
import { TableRuntime } from './table.ts';
import { WriteVersions } from './versions.ts';

export class SwitchRuleViolation extends Error {
  override readonly name = 'SwitchRuleViolation';
  /** True for structural rules (ownership, one access per packet): the program is rejected. */
  constructor(message: string, readonly rejectsProgram: boolean) {
    super(message);
  }
}

type Cells = Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

export class RegisterArray {
  readonly cells: Cells;
  /** The stage invocation (epoch) that last touched it: a second touch in one is a violation. */
  lastEpoch = -1;
  /** Versions of the control plane's writes, by cell (versions.ts). */
  private readonly versions = new WriteVersions();

  constructor(readonly decl: RegisterDecl) {
    const n = decl.size;
    switch (decl.cellBits) {
      case 8: this.cells = new Uint8Array(n); break;
      case 16: this.cells = new Uint16Array(n); break;
      case 32: this.cells = new Uint32Array(n); break;
      case 64: this.cells = new BigUint64Array(n); break;
    }
  }

  /** Control plane: read one cell. */
  get(index: number): number | bigint | string {
    if (!Number.isInteger(index) || index < 0 || index >= this.decl.size) return `register '${this.decl.name}' has cells 0..${this.decl.size - 1}; no cell ${index}`;
    return this.cells[index]!;
  }

  /** Control plane: write one cell, checking the value fits (a `version` orders it: versions.ts). Returns an error or null. */
  set(index: number, value: number | bigint, version?: number): string | null {
    const d = this.decl;
    if (!Number.isInteger(index) || index < 0 || index >= d.size) return `register '${d.name}' has cells 0..${d.size - 1}; no cell ${index}`;
    const stale = this.versions.refuse(String(index), version, `register '${d.name}' cell ${index}`);
    if (stale) return stale;
    let big: bigint;
    if (typeof value === 'bigint') big = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
    else return `register '${d.name}': ${String(value)} is not an integer`;
    if (big < 0n || big >= 1n << BigInt(d.cellBits)) return `register '${d.name}': ${big} does not fit in a ${d.cellBits}-bit cell`;
    if (this.cells instanceof BigUint64Array) this.cells[index] = big;
    else this.cells[index] = Number(big);
    this.versions.record(String(index), version);
    return null;
  }

  /**
   * Control plane: every cell back to zero; with a `version`, only the cells the control plane
   * last wrote before it (or never): the reset as it would have been had it come in order.
   */
  reset(version?: number): string | null {
    const stale = this.versions.refuseClear(version, `register '${this.decl.name}'`);
    if (stale) return stale;
    if (version === undefined) {
      this.cells.fill(0 as never);
      return null;
    }
    for (let i = 0; i < this.cells.length; i++) if (this.versions.olderThan(String(i), version)) this.cells[i] = 0 as never;
    this.versions.cleared(version);
    return null;
  }
}

export class CounterArray {
  /** Packets and bytes per cell; doubles count exactly up to 2^53. */
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  lastEpoch = -1;

  constructor(readonly decl: CounterDecl) {
    this.packets = new Float64Array(decl.size);
    this.bytes = new Float64Array(decl.size);
  }
}

/** Up to this many violation and error messages are kept (all are counted). */
const KEEP_MESSAGES = 10;

export class StageRuntime<H> implements StageEnv<H> {
  readonly stage: string;
  readonly tables = new Map<TableDecl<H>, TableRuntime<H>>();
  readonly registers = new Map<RegisterDecl, RegisterArray>();
  readonly counters = new Map<CounterDecl, CounterArray>();
  /** Owned tables as parallel arrays (a stage has few): faster than a Map on the per-packet path. */
  private readonly tableDecls: TableDecl<H>[] = [];
  private readonly tableRts: TableRuntime<H>[] = [];
  private readonly tableEpochs: number[] = [];
  private readonly regAccess = new Map<RegisterDecl, RegisterAccess<number | bigint>>();
  private readonly ctrAccess = new Map<CounterDecl, CounterAccess>();
  /** Incremented for every packet this stage runs. */
  epoch = 0;
  /** Why the program was rejected (the first structural violation), if it was. */
  rejected: string | undefined;
  readonly violations: string[] = [];
  readonly errors: string[] = [];
  errorCount = 0;

  constructor(readonly program: SwitchProgram<H>, readonly def: StageDef<H>) {
    this.stage = def.name;
    for (const t of def.tables) {
      const rt = new TableRuntime(t);
      this.tables.set(t, rt);
      this.tableDecls.push(t);
      this.tableRts.push(rt);
      this.tableEpochs.push(-1);
    }
    for (const r of def.registers) {
      const arr = new RegisterArray(r);
      this.registers.set(r, arr);
      this.regAccess.set(r, registerAccess(this, arr));
    }
    for (const c of def.counters) {
      const arr = new CounterArray(c);
      this.counters.set(c, arr);
      this.ctrAccess.set(c, counterAccess(this, arr));
    }
  }

  /** Run the stage's code on one packet; a packet already marked to drop skips it. */
  run(pkt: Packet<H>): void {
    if (pkt.meta.drop) return;
    this.epoch++;
    try {
      this.def.apply(pkt, this);
    } catch (err) {
      if (err instanceof SwitchRuleViolation) {
        if (this.violations.length < KEEP_MESSAGES) this.violations.push(err.message);
        if (err.rejectsProgram) {
          this.rejected ??= err.message;
          markDrop(pkt, 'rule-violation');
        } else {
          markDrop(pkt, 'index-out-of-range');
        }
      } else {
        // A bug in the stage's code: the packet is lost, the switch carries on.
        this.errorCount++;
        if (this.errors.length < KEEP_MESSAGES) this.errors.push(`stage '${this.stage}': ${err instanceof Error ? err.message : String(err)}`);
        markDrop(pkt, 'stage-error');
      }
    }
  }

  // ---- StageEnv --------------------------------------------------------------------------------

  apply(table: TableDecl<H>, pkt: Packet<H>): ApplyResult {
    const decls = this.tableDecls;
    let i = 0;
    while (i < decls.length && decls[i] !== table) i++;
    if (i === decls.length) throw this.notOwned(table);
    if (this.tableEpochs[i] === this.epoch) {
      throw new SwitchRuleViolation(`table '${table.name}' is applied twice to one packet in stage '${this.stage}' (a table is applied at most once per pass)`, true);
    }
    this.tableEpochs[i] = this.epoch;
    return this.tableRts[i]!.apply(pkt);
  }

  register<W extends CellBits>(reg: RegisterDecl<W>): RegisterAccess<CellValue<W>> {
    const a = this.regAccess.get(reg as RegisterDecl);
    if (!a) throw this.notOwned(reg as RegisterDecl);
    return a as RegisterAccess<CellValue<W>>;
  }

  counter(c: CounterDecl): CounterAccess {
    const a = this.ctrAccess.get(c);
    if (!a) throw this.notOwned(c);
    return a;
  }

  private notOwned(decl: TableDecl<H> | RegisterDecl | CounterDecl): SwitchRuleViolation {
    const owner = this.program.owner.get(decl);
    const where = owner === undefined ? 'which no stage of this program declares' : `which stage '${owner}' owns`;
    return new SwitchRuleViolation(`stage '${this.stage}' touches ${decl.kind} '${decl.name}', ${where} (a stage reaches only its own tables, registers and counters)`, true);
  }
}

function registerAccess<H>(env: StageRuntime<H>, arr: RegisterArray): RegisterAccess<number | bigint> {
  const cells = arr.cells as unknown as { [i: number]: number | bigint };
  const size = arr.decl.size;
  const name = arr.decl.name;
  const touch = (index: number): void => {
    if (arr.lastEpoch === env.epoch) {
      throw new SwitchRuleViolation(`register '${name}' is touched twice for one packet in stage '${env.stage}' (one read-modify-write per register array per packet)`, true);
    }
    arr.lastEpoch = env.epoch;
    if (!(index >= 0 && index < size && Number.isInteger(index))) {
      throw new SwitchRuleViolation(`register '${name}' has cells 0..${size - 1}; stage '${env.stage}' asked for cell ${index}`, false);
    }
  };
  return {
    read(index) {
      touch(index);
      return cells[index]!;
    },
    write(index, value) {
      touch(index);
      cells[index] = value;
    },
    rmw(index, update) {
      touch(index);
      const next = update(cells[index]!);
      cells[index] = next;
      return cells[index]!;
    },
    exchange(index, value) {
      touch(index);
      const old = cells[index]!;
      cells[index] = value;
      return old;
    },
  };
}

function counterAccess<H>(env: StageRuntime<H>, arr: CounterArray): CounterAccess {
  const name = arr.decl.name;
  const size = arr.decl.size;
  return {
    count(index, pkt) {
      if (arr.lastEpoch === env.epoch) {
        throw new SwitchRuleViolation(`counter '${name}' is counted twice for one packet in stage '${env.stage}' (one update per counter array per packet)`, true);
      }
      arr.lastEpoch = env.epoch;
      if (!(index >= 0 && index < size && Number.isInteger(index))) {
        throw new SwitchRuleViolation(`counter '${name}' has cells 0..${size - 1}; stage '${env.stage}' asked for cell ${index}`, false);
      }
      arr.packets[index]!++;
      arr.bytes[index]! += pkt.payloadBytes;
    },
  };
}
