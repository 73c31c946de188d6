// Invariants of a NOPaxos group, checked after every simulated step (SimRuntime.onStep), as
// DESIGN.md "Correctness" asks:
//  - replicas never disagree on a committed slot (and a replica's commit point never goes back);
//  - nothing executed is overwritten: a replica's state machine executed exactly what its log
//    holds, and never rolled back below its commit point;
//  - each client request executes at most once at each replica;
//  - replicas truncate their logs (replica.ts, truncateLog): the slots compared are those still
//    in the log (above its base), and the checkpoints that stand for the truncated ones must
//    agree: two replicas' checkpoints after the same slot hold the same state.
// The checks are incremental (each committed slot is compared once per replica), so they cost
// little per step. A violation throws an Error that says what and where.
import { createHash } from 'node:crypto';
import type { LogEntry, Snapshot } from './messages.ts';
import type { NopaxosReplica } from './replica.ts';

interface Seen {
  replica: NopaxosReplica;
  checkedCommit: number;
  logVersion: number;
  log: LogEntry[];
  stable: number;
  checkpoint: Snapshot | undefined;
}

export function entryKey(e: LogEntry | undefined): string {
  if (e === undefined) return '(missing)';
  return e.state === 'noop' ? 'NOOP' : `${e.request!.clientId}#${e.request!.clientReqId}`;
}

export class NopaxosInvariants {
  /** committed[k]: the entry key of slot k+1, as first seen committed at any replica. */
  readonly committed: string[] = [];
  /** A digest of the application state after slot k, as first seen in a checkpoint. */
  private readonly checkpoints = new Map<number, string>();
  private readonly seen: (Seen | undefined)[] = [];
  checks = 0;

  /** @param replicas the live replica states (undefined for a crashed one), by index. */
  constructor(private readonly replicas: () => readonly (NopaxosReplica | undefined)[]) {}

  check(): void {
    this.checks++;
    const rs = this.replicas();
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (r === undefined) continue;
      let s = this.seen[i];
      if (s === undefined || s.replica !== r) {
        // A new incarnation starts from nothing.
        s = { replica: r, checkedCommit: 0, logVersion: r.logVersion, log: r.log, stable: 0, checkpoint: undefined };
        this.seen[i] = s;
      }
      this.checkReplica(i, r, s);
    }
  }

  private checkReplica(i: number, r: NopaxosReplica, s: Seen): void {
    const where = `replica ${i} (view ${r.view}, session ${r.sessNum}, ${r.status})`;
    if (r.lastCommittedOp < s.checkedCommit) fail(`${where}: commit point went back from ${s.checkedCommit} to ${r.lastCommittedOp}`);
    if (r.lastCommittedOp > r.lastOp) fail(`${where}: commit point ${r.lastCommittedOp} beyond its log (${r.lastOp})`);
    const app = r.app;
    if (app.stableUpTo < s.stable) fail(`${where}: stable point went back`);
    s.stable = app.stableUpTo;
    if (app.lastExecuted > r.lastOp) fail(`${where}: executed slot ${app.lastExecuted} beyond its log (${r.lastOp})`);
    if (app.lastExecuted < app.stableUpTo) fail(`${where}: rolled back below its stable point`);
    if (app.maxExecutions > 1) fail(`${where}: a request executed ${app.maxExecutions} times`);
    if (app.executedBase !== r.logBase) fail(`${where}: the state machine forgot slots up to ${app.executedBase}, the log up to ${r.logBase}`);
    this.checkCheckpoint(where, r, s);
    // Newly committed slots still in the log: agree with every other replica, and execution
    // matches the log (those below the base came in a checkpoint, checked as a whole).
    for (let op = Math.max(s.checkedCommit, r.logBase) + 1; op <= r.lastCommittedOp; op++) {
      const e = r.entry(op);
      const key = entryKey(e);
      const known = this.committed[op - 1];
      if (known === undefined) this.committed[op - 1] = key;
      else if (known !== key) fail(`${where}: committed slot ${op} holds ${key}, another replica committed ${known}`);
      if (op <= app.lastExecuted) this.checkExecuted(where, r, op);
    }
    s.checkedCommit = r.lastCommittedOp;
    // The log changed in place (a NO-OP overwrote a slot, or a rewind): what was executed
    // beyond the stable point must still be what the log holds (rolled back first otherwise).
    if (r.logVersion !== s.logVersion || r.log !== s.log) {
      s.logVersion = r.logVersion;
      s.log = r.log;
      for (let op = Math.max(app.stableUpTo, r.logBase) + 1; op <= app.lastExecuted; op++) this.checkExecuted(where, r, op);
    }
  }

  private checkExecuted(where: string, r: NopaxosReplica, op: number): void {
    const e = r.entry(op);
    const done = r.app.executedAt(op);
    const logKey = entryKey(e);
    const execKey = done === undefined ? 'NOOP' : `${done.clientId}#${done.clientReqId}`;
    if (logKey !== execKey) fail(`${where}: slot ${op} executed ${execKey} but the log now holds ${logKey} (overwritten without rollback)`);
  }

  /** A new checkpoint: the same state as every other replica's after the same slot. */
  private checkCheckpoint(where: string, r: NopaxosReplica, s: Seen): void {
    const cp = r.checkpoint;
    if (cp === s.checkpoint) return;
    s.checkpoint = cp;
    if (cp === undefined) return;
    if (cp.slot > r.lastCommittedOp) fail(`${where}: checkpoint after slot ${cp.slot}, beyond its commit point ${r.lastCommittedOp}`);
    if (cp.slot < r.logBase) fail(`${where}: log truncated to ${r.logBase}, beyond its checkpoint (${cp.slot})`);
    const digest = createHash('sha1').update(JSON.stringify(cp.app)).digest('hex');
    const known = this.checkpoints.get(cp.slot);
    if (known === undefined) this.checkpoints.set(cp.slot, digest);
    else if (known !== digest) fail(`${where}: its state after slot ${cp.slot} differs from another replica's`);
  }
}

function fail(what: string): never {
  throw new Error(`NOPaxos invariant violated: ${what}`);
}
