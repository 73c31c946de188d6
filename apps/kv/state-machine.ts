// A replica's application: the key-value data and the client table together, executed slot by
// slot. Execution is at-most-once per client request (the client table), and can be rolled
// back down to the last stable (committed) slot: a NOPaxos leader executes requests as they
// arrive, before they are known to be committed, and a view change may replace them.
import { applyOp, undoOp, type KvData, type KvOp, type KvResult, type KvUndo } from './kv.ts';
import { ClientTable, type ClientTableEntry, type ClientTableUndo } from './client-table.ts';

export interface KvRequest {
  readonly clientId: string;
  readonly clientReqId: number;
  readonly op: KvOp;
}

export type ExecOutcome =
  /** Executed now. */
  | { readonly kind: 'executed'; readonly result: KvResult }
  /** A retry of the client's latest request: answered from the client table. */
  | { readonly kind: 'duplicate'; readonly result: KvResult }
  /** Older than the client's latest request: ignored, no answer. */
  | { readonly kind: 'stale' };

/**
 * The application state after some slot: the data and the client table (which at-most-once
 * needs: a retry of a request executed before the snapshot must still be answered from it, not
 * executed again). Plain arrays, ordered, so that it crosses hosts as JSON and the same state
 * always gives the same snapshot.
 */
export interface AppSnapshot {
  readonly data: readonly (readonly [string, string])[];
  readonly clients: readonly (readonly [string, ClientTableEntry])[];
}

interface UndoRecord {
  readonly slot: number;
  readonly kv: KvUndo | undefined;
  readonly table: ClientTableUndo | undefined;
  readonly reqKey: string | undefined;
}

export function requestKey(clientId: string, clientReqId: number): string {
  return `${clientId}#${clientReqId}`;
}

export class KvStateMachine {
  readonly data: KvData = new Map();
  readonly clients = new ClientTable();
  /** The last slot executed (or skipped as a no-op). */
  lastExecuted = 0;
  /** Slots up to here are stable: they can no longer be rolled back. */
  stableUpTo = 0;
  /** Requests executed so far (not counting rolled-back ones), for the at-most-once invariant. */
  readonly executions = new Map<string, number>();
  executedCount = 0;
  /** The most times any one request was executed (1 if at-most-once holds). */
  maxExecutions = 0;
  rolledBack = 0;
  /**
   * executedRequests[k] is the request executed in slot executedBase+k+1 (undefined: a no-op);
   * slots up to executedBase were truncated (`truncate`) or came in a snapshot (`restore`).
   */
  executedRequests: (KvRequest | undefined)[] = [];
  executedBase = 0;
  /**
   * Per client, the highest request number executed in a slot forgotten since (truncated, or
   * inside a restored snapshot): `executions` no longer counts those requests, so executing one
   * of them (or any older one) again is what an at-most-once violation looks like from here.
   */
  private readonly executedFloor = new Map<string, number>();
  private undoLog: UndoRecord[] = [];

  /** @param keepUndo record undo information for slots above the stable point (NOPaxos). */
  constructor(private readonly keepUndo = true) {}

  /** Execute the request in `slot`, the next one. */
  execute(slot: number, req: KvRequest): ExecOutcome {
    this.checkNext(slot);
    this.lastExecuted = slot;
    this.executedRequests.push(req);
    const check = this.clients.check(req.clientId, req.clientReqId);
    if (check.kind !== 'new') {
      this.remember({ slot, kv: undefined, table: undefined, reqKey: undefined });
      return check;
    }
    const { result, undo } = applyOp(this.data, req.op);
    const table = this.clients.record(req.clientId, req.clientReqId, result);
    const reqKey = requestKey(req.clientId, req.clientReqId);
    const floor = this.executedFloor.get(req.clientId);
    if (floor !== undefined && req.clientReqId <= floor) {
      throw new Error(`at-most-once violated: ${reqKey} executed after request ${floor} of that client was (in a forgotten slot)`);
    }
    const n = (this.executions.get(reqKey) ?? 0) + 1;
    // At most once: the client table must have stopped a second execution.
    if (n > 1) throw new Error(`at-most-once violated: ${reqKey} executed ${n} times`);
    this.executions.set(reqKey, n);
    if (n > this.maxExecutions) this.maxExecutions = n;
    this.executedCount++;
    this.remember({ slot, kv: undo, table, reqKey });
    return { kind: 'executed', result };
  }

  /** The slot holds a no-op: nothing to execute, but the slot is passed. */
  skip(slot: number): void {
    this.checkNext(slot);
    this.lastExecuted = slot;
    this.executedRequests.push(undefined);
  }

  /** Undo every slot after `slot` (which must not be below the stable point). */
  rollbackTo(slot: number): void {
    if (slot >= this.lastExecuted) return;
    if (slot < this.stableUpTo) throw new Error(`rollback to ${slot} below the stable point ${this.stableUpTo}`);
    if (!this.keepUndo) throw new Error('rollback asked of a state machine that keeps no undo log');
    while (this.undoLog.length > 0 && this.undoLog[this.undoLog.length - 1]!.slot > slot) {
      const u = this.undoLog.pop()!;
      if (u.kv) undoOp(this.data, u.kv);
      if (u.table) this.clients.undo(u.table);
      if (u.reqKey !== undefined) {
        const n = this.executions.get(u.reqKey)! - 1;
        if (n === 0) this.executions.delete(u.reqKey);
        else this.executions.set(u.reqKey, n);
        this.executedCount--;
      }
      this.rolledBack++;
    }
    this.lastExecuted = slot;
    this.executedRequests.length = slot - this.executedBase;
  }

  /** The request executed in `slot` (undefined: a no-op, or a slot forgotten or not executed). */
  executedAt(slot: number): KvRequest | undefined {
    return slot > this.executedBase ? this.executedRequests[slot - this.executedBase - 1] : undefined;
  }

  /**
   * Forget the per-slot record of slots up to `slot` (stable ones only: they are never rolled
   * back), so that memory stays bounded; the data and the client table are unchanged.
   */
  truncate(slot: number): void {
    if (slot <= this.executedBase) return;
    if (slot > this.stableUpTo) throw new Error(`truncating to ${slot} above the stable point ${this.stableUpTo}`);
    const drop = slot - this.executedBase;
    for (let k = 0; k < drop; k++) {
      const req = this.executedRequests[k];
      if (req !== undefined) this.forget(req);
    }
    this.executedRequests.splice(0, drop);
    this.executedBase = slot;
  }

  /** The state now (after `lastExecuted`). */
  snapshot(): AppSnapshot {
    const data = [...this.data].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { data, clients: this.clients.list() };
  }

  /**
   * Become the state of `snap`, taken after `slot` (committed: nothing before it will be rolled
   * back). What this state machine executed so far is dropped, as a rollback would.
   */
  restore(snap: AppSnapshot, slot: number): void {
    this.data.clear();
    for (const [k, v] of snap.data) this.data.set(k, v);
    this.clients.replaceAll(snap.clients);
    this.rolledBack += this.undoLog.length;
    this.undoLog = [];
    this.executions.clear();
    this.executedCount = 0;
    this.executedFloor.clear();
    // Every request the snapshot's clients got an answer to was executed in it.
    for (const [id, e] of snap.clients) this.executedFloor.set(id, e.reqId);
    this.executedRequests = [];
    this.executedBase = slot;
    this.lastExecuted = slot;
    this.stableUpTo = slot;
  }

  private forget(req: KvRequest): void {
    const key = requestKey(req.clientId, req.clientReqId);
    const n = this.executions.get(key);
    // A duplicate or stale request in the slot was not executed (not counted).
    if (n === undefined) return;
    this.executions.delete(key);
    if (req.clientReqId > (this.executedFloor.get(req.clientId) ?? 0)) this.executedFloor.set(req.clientId, req.clientReqId);
  }

  /** Slots up to `slot` are committed: forget how to undo them. */
  stabilize(slot: number): void {
    if (slot <= this.stableUpTo) return;
    this.stableUpTo = Math.min(slot, this.lastExecuted);
    let drop = 0;
    while (drop < this.undoLog.length && this.undoLog[drop]!.slot <= this.stableUpTo) drop++;
    if (drop > 0) this.undoLog.splice(0, drop);
  }

  private remember(u: UndoRecord): void {
    if (this.keepUndo && u.slot > this.stableUpTo) this.undoLog.push(u);
  }

  private checkNext(slot: number): void {
    if (slot !== this.lastExecuted + 1) throw new Error(`execute slot ${slot} but the next is ${this.lastExecuted + 1}`);
  }
}
