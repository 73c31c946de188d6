// How a stage, the traffic manager and the initial setup apply control-plane operations. The
// control plane actor only routes; the actor that owns the table, register array, counter or
// multicast group carries the operation out and answers the requester itself.
import type { ActorRef, Ctx, Msg } from '../actors/index.ts';
import type { ControlQuery, ControlReply, StageControl } from './messages.ts';
import type { TrafficManager } from './pipeline.ts';
import type { StageRuntime } from './stage.ts';
import type { MatchField } from './table.ts';

/** Table entries, defaults, register values and multicast groups installed when the switch starts. */
export interface SwitchSetup {
  readonly entries?: readonly {
    readonly table: string; readonly match: readonly MatchField[]; readonly action: string;
    readonly params?: Readonly<Record<string, number>>; readonly priority?: number;
  }[];
  readonly defaults?: readonly { readonly table: string; readonly action: string; readonly params?: Readonly<Record<string, number>> }[];
  readonly registers?: readonly { readonly register: string; readonly index: number; readonly value: number | bigint }[];
  readonly multicast?: readonly { readonly group: number; readonly ports: readonly number[] }[];
}

/** The error of a request meant for an earlier boot of the switch (Request.boot) starts with this. */
export const RESTARTED = 'restarted';

/** Send a reply to a control request, saying which boot of the switch made it. */
export function answer(ctx: Pick<Ctx<Msg>, 'send' | 'incarnation'>, to: ActorRef<ControlReply>, reply: ControlReply): void {
  ctx.send(to, { ...reply, boot: ctx.incarnation });
}

/** Why the switch refuses `req` (meant for another boot), or null. */
export function wrongBoot(req: { readonly boot?: number }, boot: number): string | null {
  if (req.boot === undefined || req.boot === boot) return null;
  return `${RESTARTED}: this switch is at boot ${boot}; the request was for boot ${req.boot}`;
}

export function ok(req: { readonly id?: number }, body: { value?: number | bigint; packets?: number; bytes?: number } = {}): ControlReply {
  return req.id === undefined ? { type: 'ControlReply', ok: true, ...body } : { type: 'ControlReply', id: req.id, ok: true, ...body };
}

export function fail(req: { readonly id?: number }, error: string): ControlReply {
  return req.id === undefined ? { type: 'ControlReply', ok: false, error } : { type: 'ControlReply', id: req.id, ok: false, error };
}

function findTable<H>(rt: StageRuntime<H>, name: string) {
  for (const t of rt.tables.values()) if (t.name === name) return t;
  return undefined;
}

function findRegister<H>(rt: StageRuntime<H>, name: string) {
  for (const r of rt.registers.values()) if (r.decl.name === name) return r;
  return undefined;
}

function findCounter<H>(rt: StageRuntime<H>, name: string) {
  for (const c of rt.counters.values()) if (c.decl.name === name) return c;
  return undefined;
}

/** Carry out a table, register or counter operation on the stage that owns the object. */
export function stageControl<H>(rt: StageRuntime<H>, op: StageControl): ControlReply {
  switch (op.type) {
    case 'TableInsert':
    case 'TableDelete':
    case 'TableClear':
    case 'TableSetDefault': {
      const t = findTable(rt, op.table);
      if (!t) return fail(op, `stage '${rt.stage}' has no table '${op.table}'`);
      if (op.type === 'TableClear') {
        const n = t.clear(op.version);
        return typeof n === 'string' ? fail(op, n) : ok(op, { value: n });
      }
      const err = op.type === 'TableInsert' ? t.insert(op.match, { action: op.action, params: op.params }, op.priority, op.version)
        : op.type === 'TableDelete' ? t.delete(op.match, op.priority, op.version)
          : t.setDefault({ action: op.action, params: op.params }, op.version);
      return err ? fail(op, err) : ok(op);
    }
    case 'RegisterRead':
    case 'RegisterWrite':
    case 'RegisterReset': {
      const r = findRegister(rt, op.register);
      if (!r) return fail(op, `stage '${rt.stage}' has no register '${op.register}'`);
      if (op.type === 'RegisterReset') {
        const err = r.reset(op.version);
        return err ? fail(op, err) : ok(op);
      }
      if (op.type === 'RegisterWrite') {
        const err = r.set(op.index, op.value, op.version);
        return err ? fail(op, err) : ok(op);
      }
      const v = r.get(op.index);
      return typeof v === 'string' ? fail(op, v) : ok(op, { value: v });
    }
    case 'CounterRead': {
      const c = findCounter(rt, op.counter);
      if (!c) return fail(op, `stage '${rt.stage}' has no counter '${op.counter}'`);
      if (!Number.isInteger(op.index) || op.index < 0 || op.index >= c.decl.size) {
        return fail(op, `counter '${op.counter}' has cells 0..${c.decl.size - 1}; no cell ${op.index}`);
      }
      return ok(op, { packets: c.packets[op.index]!, bytes: c.bytes[op.index]! });
    }
  }
}

/** Apply the part of `setup` that concerns this stage; returns the errors. */
export function applyStageSetup<H>(rt: StageRuntime<H>, setup: SwitchSetup | undefined): string[] {
  const errors: string[] = [];
  if (!setup) return errors;
  for (const e of setup.entries ?? []) {
    const t = findTable(rt, e.table);
    const err = t?.insert(e.match, { action: e.action, params: e.params }, e.priority);
    if (err) errors.push(`setup: ${err}`);
  }
  for (const d of setup.defaults ?? []) {
    const err = findTable(rt, d.table)?.setDefault({ action: d.action, params: d.params });
    if (err) errors.push(`setup: ${err}`);
  }
  for (const r of setup.registers ?? []) {
    const err = findRegister(rt, r.register)?.set(r.index, r.value);
    if (err) errors.push(`setup: ${err}`);
  }
  return errors;
}

export function applyTmSetup<H>(tm: TrafficManager<H>, setup: SwitchSetup | undefined): string[] {
  const errors: string[] = [];
  for (const g of setup?.multicast ?? []) {
    const err = tm.setGroup(g.group, g.ports);
    if (err) errors.push(`setup: ${err}`);
  }
  return errors;
}

export type { ControlQuery };
