// Histories of client operations, recorded in every run for the linearizability checker
// (DESIGN.md "Correctness"): an invocation when a client sends a request, a return when the
// answer arrives, and an unknown outcome when it gives up (the operation may take effect at
// any later point, or never). Times are the client's ctx.now(): virtual ms in sim.
//
// The format is that of apps/linearizability/history.ts (its `History` and JSON format): the
// checker's HistoryRecorder fits `HistorySink` too, and `KvHistory.history()` can be handed to
// the checker with the kv model as it is.
import type { KvOp, KvResult } from '../kv/kv.ts';
import type { ClientId, History as AnyHistory, Operation as AnyOperation } from '../linearizability/history.ts';

export type { ClientId };
/** The checker's operation and history, with kv operations by default. */
export type Operation<I = KvOp, O = KvResult> = AnyOperation<I, O>;
export type History<I = KvOp, O = KvResult> = AnyHistory<I, O>;

/** Where a client records its operations. */
export interface HistorySink<I = KvOp, O = KvResult> {
  /** An operation starts; returns a handle. A client has at most one operation open. */
  invoke(client: ClientId, input: I, time: number): number;
  ok(handle: number, output: O, time: number): void;
  /** The outcome will never be known. */
  unknown(handle: number): void;
}

/** Records the operations of many clients (in one process: sim or local mode). */
export class KvHistory implements HistorySink {
  private readonly ops: Operation[] = [];
  private readonly open = new Map<ClientId, number>();

  constructor(readonly model = 'kv') {}

  invoke(client: ClientId, input: KvOp, time: number): number {
    const prev = this.open.get(client);
    if (prev !== undefined) throw new Error(`history: client ${String(client)} invokes while operation ${prev} is open`);
    const id = this.ops.length;
    this.ops.push({ id, client, input, invokeTime: time, returnTime: null });
    this.open.set(client, id);
    return id;
  }

  ok(handle: number, output: KvResult, time: number): void {
    const op = this.close(handle);
    if (time < op.invokeTime) throw new Error(`history: operation ${handle} returns before it was invoked`);
    op.output = output;
    op.returnTime = time;
  }

  unknown(handle: number): void {
    this.close(handle);
  }

  get size(): number {
    return this.ops.length;
  }

  /** Operations that returned. */
  get completed(): number {
    let n = 0;
    for (const op of this.ops) if (op.returnTime !== null) n++;
    return n;
  }

  /** The history so far, in the checker's shape; operations still open are unknown outcomes. */
  history(): History {
    // Invocations from different clients arrive in time order already (one clock); sort to be sure.
    const operations = [...this.ops].sort((a, b) => a.invokeTime - b.invokeTime || a.id - b.id).map((op, id) => ({ ...op, id }));
    return { model: this.model, operations };
  }

  /** The checker's JSON format (one operation per line). */
  toJSON(): string {
    const h = this.history();
    const lines = h.operations.map((op) => {
      const o: Record<string, unknown> = { client: op.client, input: op.input };
      if (op.returnTime !== null) o['output'] = op.output ?? null;
      o['invokeTime'] = op.invokeTime;
      o['returnTime'] = op.returnTime;
      return '    ' + JSON.stringify(o);
    });
    return `{\n  "model": ${JSON.stringify(h.model)},\n  "operations": [\n${lines.join(',\n')}\n  ]\n}\n`;
  }

  private close(handle: number): Operation {
    const op = this.ops[handle];
    if (op === undefined || this.open.get(op.client) !== handle) throw new Error(`history: operation ${handle} is not open`);
    this.open.delete(op.client);
    return op;
  }
}
