// Multi-Paxos with a stable leader (replica 0), the baseline of the NOPaxos paper: every
// request takes two phases through the leader, which is the bottleneck. Per request (or per
// batch, with batching) the leader receives the request, sends a Prepare to each of the n-1
// followers, receives their PrepareOKs, executes once f have accepted, and replies: about 2n
// messages, against 2 for a NOPaxos replica.
//
// Batching (batchSize > 1) is adaptive: the leader sends a batch at once when nothing is in
// flight, and otherwise collects requests until the batch is full or the slot in flight commits.
//
// Lost messages are repaired by the leader resending Prepares to followers that have not
// acknowledged them (acknowledgements are cumulative), and by periodic Commit messages. There
// is no leader change: a crashed leader stops the group (the baseline needs none for the
// figures; NOPaxos is where failures are handled).
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx } from '../../actors/index.ts';
import { DEFAULT_SERVICE_COSTS, ServiceMeter, type ServiceCosts } from '../kv/cost.ts';
import { KvStateMachine } from '../kv/state-machine.ts';
import { MAX_BATCH, type Commit, type Prepare, type PrepareOK, type ReplicaMsg, type Request } from './messages.ts';

/** Resend unacknowledged Prepares this often (the reference's VR resends after a timeout too). */
export const RESEND_TIMEOUT_MS = 20;
/** Tell followers the commit point this often when no Prepare carries it. */
export const COMMIT_TIMEOUT_MS = 50;
/** Prepares resent to one follower per timeout. */
export const MAX_RESEND = 256;

export interface PaxosConfig {
  readonly idx: number;
  readonly replicas: readonly ActorRef<ReplicaMsg>[];
  /** Requests per Prepare; 1 = no batching. */
  readonly batchSize?: number;
  readonly costs?: ServiceCosts;
}

type C = Ctx<ReplicaMsg>;

export class PaxosReplica {
  readonly idx: number;
  readonly n: number;
  readonly f: number;
  readonly isLeader: boolean;
  readonly view = 0;
  /** Slots, by opNum (a follower may hold slots beyond a hole). */
  readonly log = new Map<number, readonly Request[]>();
  /** Every slot up to here is in the log. */
  lastOp = 0;
  commitNum = 0;
  /** The last slot executed. */
  executedOp = 0;
  readonly app = new KvStateMachine(false);
  /** Leader: each replica's cumulative acknowledgement. */
  readonly acks: number[];
  /** Leader: requests waiting for a slot. */
  private pending: Request[] = [];
  /** Leader: the latest request number put in the log, per client (retries are not logged twice). */
  private readonly logged = new Map<string, number>();
  private commitSent = 0;
  prepares = 0;
  private readonly batchSize: number;

  constructor(private readonly cfg: PaxosConfig, private readonly meter: ServiceMeter, ctx: C) {
    this.idx = cfg.idx;
    this.n = cfg.replicas.length;
    this.f = Math.floor((this.n - 1) / 2);
    this.isLeader = cfg.idx === 0;
    this.acks = new Array<number>(this.n).fill(0);
    this.batchSize = Math.max(1, Math.min(cfg.batchSize ?? 1, MAX_BATCH));
    if (this.isLeader) {
      ctx.startTimer('resend', RESEND_TIMEOUT_MS, { type: 'ResendTimeout' }, { repeat: true });
      ctx.startTimer('commit', COMMIT_TIMEOUT_MS, { type: 'CommitTimeout' }, { repeat: true });
    }
  }

  handle(msg: ReplicaMsg, ctx: C): void {
    this.meter.recv();
    switch (msg.type) {
      case 'Request': return this.onRequest(msg, ctx);
      case 'Prepare': return this.onPrepare(msg, ctx);
      case 'PrepareOK': return this.onPrepareOK(msg, ctx);
      case 'Commit': return this.onCommit(msg, ctx);
      case 'ResendTimeout': return this.onResendTimeout(ctx);
      case 'CommitTimeout': return this.onCommitTimeout(ctx);
      default: return assertNever(msg);
    }
  }

  // ---- leader ------------------------------------------------------------------------------

  private onRequest(msg: Request, ctx: C): void {
    if (!this.isLeader) return;
    const check = this.app.clients.check(msg.clientId, msg.clientReqId);
    if (check.kind === 'stale') return;
    if (check.kind === 'duplicate') {
      this.send(ctx, msg.client, { type: 'Reply', clientReqId: msg.clientReqId, result: check.result });
      return;
    }
    // Logged already and not yet executed: the reply comes when it commits.
    if ((this.logged.get(msg.clientId) ?? 0) >= msg.clientReqId) return;
    this.logged.set(msg.clientId, msg.clientReqId);
    this.pending.push(msg);
    this.maybeFlush(ctx);
  }

  private maybeFlush(ctx: C): void {
    while (this.pending.length > 0 && (this.batchSize === 1 || this.lastOp === this.commitNum || this.pending.length >= this.batchSize)) {
      this.prepare(ctx, this.pending.splice(0, this.batchSize));
    }
  }

  private prepare(ctx: C, requests: readonly Request[]): void {
    const opNum = ++this.lastOp;
    this.log.set(opNum, requests);
    this.acks[this.idx] = opNum;
    this.prepares++;
    const p: Prepare = { type: 'Prepare', view: this.view, opNum, requests, commitNum: this.commitNum };
    this.broadcast(ctx, p);
    this.commitSent = this.commitNum;
    if (this.f === 0) this.advanceCommit(ctx);
  }

  private onPrepareOK(msg: PrepareOK, ctx: C): void {
    if (!this.isLeader || msg.view !== this.view || msg.replicaIdx <= 0 || msg.replicaIdx >= this.n) return;
    if (msg.opNum <= this.acks[msg.replicaIdx]!) return;
    this.acks[msg.replicaIdx] = Math.min(msg.opNum, this.lastOp);
    this.advanceCommit(ctx);
    this.maybeFlush(ctx);
  }

  /** A slot is chosen once f followers (and the leader) accepted it. */
  private advanceCommit(ctx: C): void {
    const followers = this.acks.filter((_, i) => i !== this.idx).sort((a, b) => b - a);
    const chosen = this.f === 0 ? this.lastOp : followers[this.f - 1]!;
    if (chosen <= this.commitNum) return;
    this.commitNum = chosen;
    this.execute(ctx, true);
  }

  private onResendTimeout(ctx: C): void {
    for (let i = 0; i < this.n; i++) {
      if (i === this.idx) continue;
      const upTo = Math.min(this.lastOp, this.acks[i]! + MAX_RESEND);
      for (let op = this.acks[i]! + 1; op <= upTo; op++) {
        const p: Prepare = { type: 'Prepare', view: this.view, opNum: op, requests: this.log.get(op)!, commitNum: this.commitNum };
        this.send(ctx, this.cfg.replicas[i]!, p);
      }
    }
  }

  private onCommitTimeout(ctx: C): void {
    if (this.commitNum > this.commitSent) {
      this.commitSent = this.commitNum;
      this.broadcast(ctx, { type: 'Commit', view: this.view, commitNum: this.commitNum });
    }
  }

  // ---- followers ---------------------------------------------------------------------------

  private onPrepare(msg: Prepare, ctx: C): void {
    if (this.isLeader || msg.view !== this.view) return;
    if (msg.opNum > this.lastOp && !this.log.has(msg.opNum)) this.log.set(msg.opNum, msg.requests);
    while (this.log.has(this.lastOp + 1)) this.lastOp++;
    const ok: PrepareOK = { type: 'PrepareOK', view: this.view, opNum: this.lastOp, replicaIdx: this.idx };
    this.send(ctx, this.cfg.replicas[0]!, ok);
    this.learnCommit(ctx, msg.commitNum);
  }

  private onCommit(msg: Commit, ctx: C): void {
    if (!this.isLeader && msg.view === this.view) this.learnCommit(ctx, msg.commitNum);
  }

  private learnCommit(ctx: C, commitNum: number): void {
    const c = Math.min(commitNum, this.lastOp);
    if (c <= this.commitNum) return;
    this.commitNum = c;
    this.execute(ctx, false);
  }

  // ---- both --------------------------------------------------------------------------------

  /** Execute the committed slots in order; the leader replies. */
  private execute(ctx: C, reply: boolean): void {
    while (this.executedOp < this.commitNum) {
      const op = ++this.executedOp;
      for (const req of this.log.get(op)!) {
        const out = this.app.execute(this.app.lastExecuted + 1, req);
        if (out.kind === 'executed') this.meter.execute();
        if (reply && out.kind !== 'stale') this.send(ctx, req.client, { type: 'Reply', clientReqId: req.clientReqId, result: out.result });
      }
    }
  }

  private send<T extends { type: string }>(ctx: C, to: ActorRef<T>, msg: T): void {
    this.meter.send();
    ctx.send(to, msg);
  }

  private broadcast(ctx: C, msg: ReplicaMsg): void {
    for (let i = 0; i < this.n; i++) if (i !== this.idx) this.send(ctx, this.cfg.replicas[i]!, msg);
  }
}

export function paxosReplica(cfg: PaxosConfig): Behavior<PaxosReplica, ReplicaMsg> {
  const meter = new ServiceMeter(cfg.costs ?? DEFAULT_SERVICE_COSTS);
  return behavior<PaxosReplica, ReplicaMsg>({
    init: (ctx) => {
      meter.take();
      return new PaxosReplica(cfg, meter, ctx);
    },
    receive: (state, msg, ctx) => {
      state.handle(msg, ctx);
      return state;
    },
    serviceTimeMs: () => meter.take(),
    supervision: { strategy: 'stop' },
  });
}

export type { Commit, PrepareOK };
