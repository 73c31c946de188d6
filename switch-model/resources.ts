// The resource check: does a program fit a target? It runs before a program is loaded, as a P4
// compiler's table placement does, and lists every overuse with the stage and the tables or
// registers that use the resource. Memory is counted in whole blocks, as hardware allocates it:
// a 10-entry table still takes an SRAM block.
import type { CounterDecl, RegisterDecl, StageDef, SwitchProgram, TableDecl } from './program.ts';
import { actionDataBits, keyBits } from './program.ts';
import type { TargetProfile } from './profile.ts';
import { TOFINO_LIKE } from './profile.ts';

export interface ItemUsage {
  readonly kind: 'table' | 'register' | 'counter';
  readonly name: string;
  readonly sramBlocks: number;
  readonly tcamBlocks: number;
  readonly registerBlocks: number;
  readonly statefulAlus: number;
}

/** One physical stage: ingress stage k and egress stage k together. */
export interface StageUsage {
  readonly physical: number;
  /** 'ingress:name' / 'egress:name' of the program stages placed here. */
  readonly stages: readonly string[];
  readonly tables: number;
  readonly sramBlocks: number;
  readonly tcamBlocks: number;
  readonly registerBlocks: number;
  readonly statefulAlus: number;
  readonly items: readonly ItemUsage[];
}

export interface ResourceReport {
  readonly program: string;
  readonly profile: string;
  readonly ok: boolean;
  /** One line per overuse, naming the stage, the resource and who uses it. */
  readonly overuses: readonly string[];
  readonly stages: readonly StageUsage[];
  readonly limits: {
    readonly stages: number; readonly tablesPerStage: number; readonly sramBlocksPerStage: number; readonly tcamBlocksPerStage: number;
    readonly registerBlocksPerStage: number; readonly statefulAlusPerStage: number;
  };
}

export class ResourceError extends Error {
  override readonly name = 'ResourceError';
  constructor(readonly report: ResourceReport) {
    super(`switch program '${report.program}' does not fit ${report.profile}:\n  - ${report.overuses.join('\n  - ')}`);
  }
}

/** SRAM blocks for `entries` entries of `bits` bits each (several narrow entries share a word). */
function sramBlocksFor(entries: number, bits: number, p: TargetProfile): number {
  if (bits <= 0 || entries <= 0) return 0;
  const words = bits <= p.sramWordBits ? Math.ceil(entries / Math.floor(p.sramWordBits / bits)) : entries * Math.ceil(bits / p.sramWordBits);
  return Math.ceil(words / p.sramBlockWords);
}

export function tableUsage<H>(t: TableDecl<H>, p: TargetProfile): ItemUsage {
  const kBits = keyBits(t);
  const aBits = actionDataBits(t);
  if (t.match === 'exact') {
    return { kind: 'table', name: t.name, sramBlocks: sramBlocksFor(t.size, kBits + aBits, p), tcamBlocks: 0, registerBlocks: 0, statefulAlus: 0 };
  }
  // Ternary and lpm keys live in TCAM (wide keys span several blocks side by side); action data in SRAM.
  const tcamBlocks = Math.ceil(kBits / p.tcamBlockWidthBits) * Math.ceil(t.size / p.tcamBlockEntries);
  return { kind: 'table', name: t.name, sramBlocks: sramBlocksFor(t.size, aBits, p), tcamBlocks, registerBlocks: 0, statefulAlus: 0 };
}

export function registerUsage(r: RegisterDecl, p: TargetProfile): ItemUsage {
  const blocks = Math.ceil((r.size * r.cellBits) / (p.sramBlockWords * p.sramWordBits));
  return { kind: 'register', name: r.name, sramBlocks: blocks, tcamBlocks: 0, registerBlocks: blocks, statefulAlus: 1 };
}

/** A packet-and-byte counter cell takes 64 bits; counters have their own ALUs. */
export function counterUsage(c: CounterDecl, p: TargetProfile): ItemUsage {
  return { kind: 'counter', name: c.name, sramBlocks: sramBlocksFor(c.size, 64, p), tcamBlocks: 0, registerBlocks: 0, statefulAlus: 0 };
}

/** Check `program` against `profile`; never throws. */
export function checkResources<H>(program: SwitchProgram<H>, p: TargetProfile = TOFINO_LIKE): ResourceReport {
  const overuses: string[] = [];
  for (const [gress, stages] of [['ingress', program.ingress], ['egress', program.egress]] as const) {
    if (stages.length > p.stages) {
      overuses.push(`${gress} has ${stages.length} stages; ${p.name} has ${p.stages} (${gress} stages ${stages.slice(p.stages).map((s) => `'${s.name}'`).join(', ')} do not fit)`);
    }
  }
  const physical = Math.max(program.ingress.length, program.egress.length);
  const usage: StageUsage[] = [];
  for (let k = 0; k < physical; k++) {
    const here: [string, StageDef<H>][] = [];
    if (program.ingress[k]) here.push(['ingress', program.ingress[k]!]);
    if (program.egress[k]) here.push(['egress', program.egress[k]!]);
    const items: ItemUsage[] = [];
    for (const [, s] of here) {
      for (const t of s.tables) items.push(tableUsage(t, p));
      for (const r of s.registers) items.push(registerUsage(r, p));
      for (const c of s.counters) items.push(counterUsage(c, p));
    }
    const sum = (f: (i: ItemUsage) => number): number => items.reduce((s, i) => s + f(i), 0);
    const u: StageUsage = {
      physical: k,
      stages: here.map(([g, s]) => `${g}:${s.name}`),
      tables: items.filter((i) => i.kind === 'table').length,
      sramBlocks: sum((i) => i.sramBlocks),
      tcamBlocks: sum((i) => i.tcamBlocks),
      registerBlocks: sum((i) => i.registerBlocks),
      statefulAlus: sum((i) => i.statefulAlus),
      items,
    };
    usage.push(u);
    const where = `stage ${k} (${here.map(([g, s]) => `${g} '${s.name}'`).join(' + ')})`;
    const users = (f: (i: ItemUsage) => number): string =>
      items.filter((i) => f(i) > 0).map((i) => `${i.kind} '${i.name}' ${f(i)}`).join(', ');
    if (u.tables > p.tablesPerStage) {
      overuses.push(`${where}: ${u.tables} tables > ${p.tablesPerStage} logical tables per stage (${items.filter((i) => i.kind === 'table').map((i) => `'${i.name}'`).join(', ')})`);
    }
    if (u.sramBlocks > p.sramBlocksPerStage) overuses.push(`${where}: SRAM ${u.sramBlocks} blocks > ${p.sramBlocksPerStage} (${users((i) => i.sramBlocks)})`);
    if (u.tcamBlocks > p.tcamBlocksPerStage) overuses.push(`${where}: TCAM ${u.tcamBlocks} blocks > ${p.tcamBlocksPerStage} (${users((i) => i.tcamBlocks)})`);
    if (u.registerBlocks > p.registerBlocksPerStage) {
      overuses.push(`${where}: register memory ${u.registerBlocks} blocks > ${p.registerBlocksPerStage} (${users((i) => i.registerBlocks)})`);
    }
    if (u.statefulAlus > p.statefulAlusPerStage) {
      overuses.push(`${where}: ${u.statefulAlus} register arrays need ${u.statefulAlus} stateful ALUs > ${p.statefulAlusPerStage} (${users((i) => i.statefulAlus)})`);
    }
  }
  return {
    program: program.name,
    profile: p.name,
    ok: overuses.length === 0,
    overuses,
    stages: usage,
    limits: {
      stages: p.stages, tablesPerStage: p.tablesPerStage, sramBlocksPerStage: p.sramBlocksPerStage, tcamBlocksPerStage: p.tcamBlocksPerStage,
      registerBlocksPerStage: p.registerBlocksPerStage, statefulAlusPerStage: p.statefulAlusPerStage,
    },
  };
}

/** Throw a ResourceError listing every overuse unless the program fits. */
export function assertFits<H>(program: SwitchProgram<H>, p: TargetProfile = TOFINO_LIKE): ResourceReport {
  const report = checkResources(program, p);
  if (!report.ok) throw new ResourceError(report);
  return report;
}

/** The report as a table, one line per physical stage, then the overuses. */
export function formatResourceReport(r: ResourceReport): string {
  const l = r.limits;
  const rows = [['stage', 'program stages', 'tables', 'SRAM', 'TCAM', 'reg mem', 'sALUs']];
  for (const s of r.stages) {
    rows.push([String(s.physical), s.stages.join(' + '), `${s.tables}/${l.tablesPerStage}`, `${s.sramBlocks}/${l.sramBlocksPerStage}`,
      `${s.tcamBlocks}/${l.tcamBlocksPerStage}`, `${s.registerBlocks}/${l.registerBlocksPerStage}`, `${s.statefulAlus}/${l.statefulAlusPerStage}`]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = [`program '${r.program}' on ${r.profile}: ${r.ok ? 'fits' : `${r.overuses.length} overuse(s)`} (${r.stages.length} of ${l.stages} stages)`];
  for (const row of rows) lines.push(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
  for (const o of r.overuses) lines.push(`  OVER: ${o}`);
  return `${lines.join('\n')}\n`;
}
