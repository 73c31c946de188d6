// The NOPaxos replica (OSDI 2016, section 5), following the reference code
// (UWSysLab/NOPaxos, nopaxos/replica.cc) and its TLA+ spec (UWSysLab/NOPaxosTLA), with what
// they leave out:
//
//  - Normal case: requests arrive stamped by the OUM sequencer; every replica appends them in
//    msgNum order; the leader executes and replies with the result, the others reply without.
//  - Gap agreement: on a DROP-NOTIFICATION a replica waits GAP_WAIT_MS (the network may only
//    have reordered; not when GAP_CONFIRM_MSGS later messages wait), then a follower asks the
//    leader (GapRequest); the leader asks the others and, if none has the request, commits a
//    NO-OP in the slot (GapCommit, f replies). A GapRequest is answered from the log or from the
//    request the OUM receiver holds for that slot; the leader answers one for a slot it lacks
//    once it appends it; a deferred GapCommit is acknowledged once the log reaches its slot.
//  - View change: on leader suspicion, SESSION-TERMINATED or a higher view-id. The new leader
//    merges the logs of f+1 replicas from the latest normal view (the longest log, with every
//    NO-OP any of them committed), fetches what it lacks by state transfer, and starts the view.
//    START-VIEW is accepted only for a strictly higher view-id, or the same one while still in
//    ViewChange (the TLA+ spec's guard; the paper's is underspecified).
//  - Synchronization: the leader periodically makes f followers adopt its log up to a sync
//    point; then everyone may execute up to it. A follower that hears no sync suspects the leader.
//  - Replica recovery (not in the reference): replicas keep no disk state. A replica whose host
//    restarted (ctx.incarnation > 0) is in status Recovering: it takes part in nothing until it
//    has, as in Viewstamped Replication, f+1 answers to its Recovery (with a fresh nonce)
//    including the leader of the latest view among them, and has copied that leader's log.
//  - Session reservations (not in the reference): replicas keep the highest session the
//    controller reserved (SessionReserve), so that a restarted controller never installs a
//    session used before (controller.ts).
//  - Log truncation (the reference keeps the whole log): a replica keeps a checkpoint (the
//    application state after a committed slot) and discards the log behind it, keeping a tail
//    of `logTail` committed slots; a replica that needs discarded slots (state transfer, view
//    change, recovery) gets the checkpoint instead. See "checkpoints and log truncation".
//  - Pending requests are ordered by (sessNum, msgNum) (the OUM receiver keeps them so), and a
//    leader that executed ahead of commit rolls its state machine back if a view change
//    replaces what it executed (the reference panics there).
//
// Handlers are named onX, timers xTimeout with onXTimeout. The state is one mutable object
// (the actor owns it; nothing else touches it) whose fields tests and invariant checks read.
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx } from '../../actors/index.ts';
import { DEFAULT_SERVICE_COSTS, ServiceMeter, type ServiceCosts } from '../kv/cost.ts';
import { KvStateMachine } from '../kv/state-machine.ts';
import {
  advanceTo, createReceiver, listen, nextEvent, offer, waiting, type OumReceiver,
} from '../oum/receiver.ts';
import {
  MAX_TRANSFER_OPS,
  type GapCommit, type GapCommitReply, type GapReply, type GapRequest, type LogEntry, type LogEntryState,
  type Recovery, type RecoveryResponse, type Reply, type ReplicaMsg, type Request, type SessionReserve, type Snapshot, type StartView, type StartViewReply,
  type StateTransferReply, type StateTransferRequest, type SyncCommit, type SyncPrepare, type SyncPrepareReply,
  type SyncPrepareRequest, type ViewChange, type ViewChangeConfirm, type ViewChangeConfirmed, type ViewChangeRequest,
} from './messages.ts';

// ---- timeouts of the reference code (ms) ---------------------------------------------------

/** Wait before asking for a missing message: the network may only have reordered it. */
export const GAP_WAIT_MS = 5;
/**
 * Later messages waiting behind a missing one that end the gap wait at once: reordering in the
 * network is short, so with this many behind it the message was lost (the reference asks at once).
 */
export const GAP_CONFIRM_MSGS = 8;
/**
 * Holes further on than the next slot that a replica asks for ahead (see `prefetchHoles`), at
 * most: a bound on what a burst of losses (or a partition) makes it send at once.
 */
export const MAX_PREFETCH_HOLES = 64;
/**
 * Committed operations a follower executes per message it handles: one keeps pace with the
 * requests arriving (one message each) without a burst; a self-message (ExecuteTimeout) runs
 * EXECUTE_IDLE_CHUNK_OPS at a time while a backlog remains, so an idle follower catches up.
 */
export const EXECUTE_CHUNK_OPS = 1;
export const EXECUTE_IDLE_CHUNK_OPS = 64;
export const GAP_REQUEST_TIMEOUT_MS = 10;
export const GAP_COMMIT_TIMEOUT_MS = 50;
export const VIEW_CHANGE_TIMEOUT_MS = 100;
export const STATE_TRANSFER_TIMEOUT_MS = 100;
export const START_VIEW_TIMEOUT_MS = 100;
/** The leader's synchronization period. */
export const SYNC_TIMEOUT_MS = 1000;
/** A follower that hears no SyncPrepare this long suspects the leader. */
export const LEADER_SYNC_HEARD_TIMEOUT_MS = 2000;
/** Recovery (not in the reference): resend Recovery with a new nonce after this long without progress. */
export const RECOVERY_TIMEOUT_MS = 100;

/** View change timeouts in one view before a replica suspects that view's leader too. */
export const VIEW_CHANGE_ATTEMPTS = 3;
/** Requests a replica keeps waiting (out of order, or during a view change). */
export const MAX_PENDING_REQUESTS = 10_000;
/**
 * Committed slots a replica keeps in its log below its commit point, at least, before it
 * truncates older ones (see `truncateLog`): a follower that fell behind by less than this, or a
 * GapRequest for a recent slot, is served from the log rather than by a snapshot. At 250 k
 * requests a second it is 40 ms of log, under one sync period of the figures (50 ms).
 */
export const DEFAULT_LOG_TAIL = 10_000;

export interface NopaxosTimeouts {
  readonly gapWaitMs: number;
  readonly gapRequestMs: number;
  readonly gapCommitMs: number;
  readonly viewChangeMs: number;
  readonly stateTransferMs: number;
  readonly startViewMs: number;
  readonly syncMs: number;
  readonly leaderSyncHeardMs: number;
  readonly recoveryMs: number;
}

export const REFERENCE_TIMEOUTS: NopaxosTimeouts = {
  gapWaitMs: GAP_WAIT_MS, gapRequestMs: GAP_REQUEST_TIMEOUT_MS, gapCommitMs: GAP_COMMIT_TIMEOUT_MS,
  viewChangeMs: VIEW_CHANGE_TIMEOUT_MS, stateTransferMs: STATE_TRANSFER_TIMEOUT_MS, startViewMs: START_VIEW_TIMEOUT_MS,
  syncMs: SYNC_TIMEOUT_MS, leaderSyncHeardMs: LEADER_SYNC_HEARD_TIMEOUT_MS, recoveryMs: RECOVERY_TIMEOUT_MS,
};

export interface ReplicaConfig {
  /** This replica's index in `replicas`. */
  readonly idx: number;
  /** Every replica of the group, in index order (this one included). */
  readonly replicas: readonly ActorRef<ReplicaMsg>[];
  /** The OUM session the group starts in (the sequencer's initial session). */
  readonly initialSession?: number;
  readonly timeouts?: Partial<NopaxosTimeouts>;
  /** Sim cost model (see apps/kv/cost.ts). */
  readonly costs?: ServiceCosts;
  /**
   * Log entries per state-transfer message, at most (default MAX_TRANSFER_OPS). Distributed runs
   * over UDP set it low, so that one reply fits a datagram (the transport does not fragment).
   */
  readonly maxTransferOps?: number;
  /**
   * Committed slots kept below the commit point before truncating (default DEFAULT_LOG_TAIL);
   * Infinity: never truncate.
   */
  readonly logTail?: number;
}

export type ReplicaStatus = 'normal' | 'gapCommit' | 'viewChange' | 'recovering';

interface StateTransfer {
  /** Entries begin..end (inclusive) are being fetched (catchUp: the commit point must reach `end`). */
  readonly begin: number;
  readonly end: number;
  replicaIdx: number;
  /**
   * What completes when the log reaches `end`. catchUp: a snapshot that brings the commit point
   * to `end` at least (see `startCatchUp`); then the merge of a view change, or a synchronization.
   */
  readonly purpose: 'enterView' | 'sync' | 'recovery' | 'catchUp';
  readonly then?: 'merge' | 'sync';
  readonly syncPoint?: number;
  /** Other replicas known to hold the range, tried in turn when one does not answer. */
  readonly candidates: number[];
  /**
   * For a view change: the fetched entries are staged here, and the new log (slots 1..keep of
   * the current one, then the staged entries, with `gaps` as NO-OPs) replaces the current one
   * at once when all are in. Until then the log stays as it was, so that a replica whose view
   * change is interrupted still reports a log that matches its last normal view. A source that
   * truncated what was asked sends its snapshot: staged too, it replaces the kept slots and the
   * entries staged so far (the entries staged next follow it).
   */
  readonly install?: { readonly keep: number; readonly gaps: readonly number[]; staged: LogEntry[]; snapshot?: Snapshot };
}

/** The stamp a slot got (view-id and OUM message number). */
interface Stamp {
  readonly view: number;
  readonly sessNum: number;
  readonly msgNum: number;
}

interface StartViewRecord {
  readonly lastNormalSessNum: number;
  readonly lastNormalView: number;
  readonly lastOp: number;
  readonly committedGaps: readonly number[];
  readonly gapsFrom: number;
}

export interface ReplicaStats {
  requests: number;
  gapRequests: number;
  /** GapRequests for holes beyond the next slot, sent ahead (`prefetchHoles`). */
  gapPrefetches: number;
  gapCommits: number;
  viewChanges: number;
  stateTransfers: number;
  syncs: number;
  rollbacks: number;
  recoveries: number;
  /** Times the log was truncated, snapshots sent in place of truncated entries, and installed. */
  truncations: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
}

type C = Ctx<ReplicaMsg>;

export class NopaxosReplica {
  readonly idx: number;
  readonly n: number;
  readonly f: number;
  status: ReplicaStatus = 'normal';
  view = 0;
  sessNum: number;
  lastNormalView = 0;
  lastNormalSessNum: number;
  /**
   * The highest session the controller reserved here (controller.ts): kept for the controller,
   * which may restart; a recovering replica takes the highest of its RecoveryResponses.
   */
  reservedSession: number;
  /** log[k] is slot logBase+k+1: slots up to logBase were truncated (`checkpoint` holds their effect). */
  log: LogEntry[] = [];
  logBase = 0;
  /**
   * The latest checkpoint: the application state after a committed slot at or above logBase,
   * sent to a replica that needs slots this one truncated.
   */
  checkpoint: Snapshot | undefined;
  lastCommittedOp = 0;
  /** Bumped whenever an existing slot changes or is dropped (not on appends): for invariant checks. */
  logVersion = 0;
  committedGaps = new Set<number>();
  readonly app = new KvStateMachine(true);
  readonly receiver: OumReceiver<Request>;
  readonly stats: ReplicaStats = {
    requests: 0, gapRequests: 0, gapPrefetches: 0, gapCommits: 0, viewChanges: 0, stateTransfers: 0, syncs: 0, rollbacks: 0, recoveries: 0,
    truncations: 0, snapshotsSent: 0, snapshotsInstalled: 0,
  };

  private readonly gapReplies = new Set<number>();
  private readonly gapCommitReplies = new Set<number>();
  /** GapCommits of this view for slots beyond the log: answered once the log reaches them. */
  private readonly deferredGapCommits = new Set<number>();
  /** GapRequests of this view for slots not in the log yet: answered once the log reaches them. */
  private readonly deferredGapRequests = new Map<number, Set<number>>();
  private deferredGapRequestCount = 0;
  /**
   * Missing msgNums of the receiver's session beyond the next one, in order, each with the
   * number of requests that had arrived when it was seen missing (`prefetchHoles`).
   */
  private holes: { readonly msgNum: number; readonly arrivals: number }[] = [];
  private holesSession = -1;
  private highestSeenMsgNum = 0;
  private arrivals = 0;
  private prefetchTurn = 0;
  private readonly viewChanges = new Map<number, ViewChange>();
  /** The senders of viewChanges whose life confirmed the vote after it arrived (ViewChangeConfirm). */
  private readonly confirmedViewChanges = new Set<number>();
  private readonly startViewReplies = new Set<number>();
  private readonly syncPrepareReplies = new Set<number>();
  private stateTransfer: StateTransfer | undefined;
  private startViewRecord: StartViewRecord | undefined;
  private leaderLastSyncPreparePoint = 0;
  private leaderLastSyncCommittedGaps: readonly number[] = [];
  private leaderLastSyncGapsFrom = 0;
  /** The stamp of slot logBase: where the OUM receiver resumes when the log is empty. */
  private baseStamp: Stamp | undefined;
  /** The parts of a snapshot that comes in several StateTransferReplies (assembleSnapshot). */
  private snapshotParts: { readonly slot: number; readonly got: (Snapshot | undefined)[]; have: number } | undefined;
  /** The leader's snapshot at its latest sync point: the checkpoint once that point commits. */
  private pendingCheckpoint: Snapshot | undefined;
  private readonly logTail: number;
  /**
   * Slots between checkpoints, at least: a checkpoint copies the whole application state, so it
   * is taken once per half a tail of committed slots, not at every sync (the log then holds at
   * most about 1.5 tails plus what is not yet committed).
   */
  private readonly checkpointEvery: number;
  private readonly receivedSyncPreparePoints = new Set<number>();
  private readonly receivedSyncCommitPoints = new Set<number>();
  private viewChangeAttempts = 0;
  /** Recovery requests (replica -> nonce) that came while not Normal: answered on entering a view. */
  private readonly recoveryRequests = new Map<number, number>();
  /** The commit point of the leader a recovering replica copies from. */
  private recoveryCommitPoint = 0;
  private recovery: { nonce: number; responses: Map<number, RecoveryResponse> } | undefined;
  /** While copying the leader's log to recover, send no replies. */
  private silent = false;
  private readonly t: NopaxosTimeouts;
  private readonly maxTransferOps: number;

  constructor(private readonly cfg: ReplicaConfig, private readonly meter: ServiceMeter, ctx: C) {
    this.idx = cfg.idx;
    this.n = cfg.replicas.length;
    this.f = Math.floor((this.n - 1) / 2);
    check(this.n >= 1 && this.idx >= 0 && this.idx < this.n, `replica index ${this.idx} of ${this.n}`);
    this.t = { ...REFERENCE_TIMEOUTS, ...cfg.timeouts };
    this.maxTransferOps = Math.max(1, Math.min(cfg.maxTransferOps ?? MAX_TRANSFER_OPS, MAX_TRANSFER_OPS));
    this.logTail = Math.max(0, cfg.logTail ?? DEFAULT_LOG_TAIL);
    this.checkpointEvery = Number.isFinite(this.logTail) ? Math.max(1, Math.floor(this.logTail / 2)) : Infinity;
    this.sessNum = cfg.initialSession ?? 0;
    this.lastNormalSessNum = this.sessNum;
    this.reservedSession = this.sessNum;
    this.receiver = createReceiver<Request>(this.sessNum, 1, MAX_PENDING_REQUESTS);
    if (ctx.incarnation > 0) {
      // Recover before anything else. Start from a timer, not here: while init runs after a
      // restart, the host is not yet up in the network (what init sends is lost).
      this.status = 'recovering';
      this.silent = true;
      ctx.startTimer('recovery', 0, { type: 'RecoveryTimeout' });
    } else if (this.amLeader()) {
      ctx.startTimer('sync', this.t.syncMs, { type: 'SyncTimeout' }, { repeat: true });
    } else {
      ctx.startTimer('leaderSyncHeard', this.t.leaderSyncHeardMs, { type: 'LeaderSyncHeardTimeout' });
    }
  }

  get lastOp(): number {
    return this.logBase + this.log.length;
  }

  get lastExecutedOp(): number {
    return this.app.lastExecuted;
  }

  leaderOf(view: number): number {
    return view % this.n;
  }

  amLeader(): boolean {
    return this.leaderOf(this.view) === this.idx;
  }

  /** Slot opNum, if the log still has it (undefined beyond the log or at or below logBase). */
  entry(opNum: number): LogEntry | undefined {
    return opNum > this.logBase ? this.log[opNum - this.logBase - 1] : undefined;
  }

  // ---- dispatch ----------------------------------------------------------------------------

  handle(msg: ReplicaMsg, ctx: C): void {
    this.meter.recv();
    const committedBefore = this.lastCommittedOp;
    if (this.status === 'recovering' && !RECOVERING_ACCEPTS.has(msg.type)) return;
    switch (msg.type) {
      case 'Request': this.onRequest(msg); break;
      case 'GapRequest': this.onGapRequest(msg, ctx); break;
      case 'GapReply': this.onGapReply(msg, ctx); break;
      case 'GapCommit': this.onGapCommit(msg, ctx); break;
      case 'GapCommitReply': this.onGapCommitReply(msg, ctx); break;
      case 'StateTransferRequest': this.onStateTransferRequest(msg, ctx); break;
      case 'StateTransferReply': this.onStateTransferReply(msg, ctx); break;
      case 'ViewChangeRequest': this.onViewChangeRequest(msg, ctx); break;
      case 'ViewChange': this.onViewChange(msg, ctx); break;
      case 'ViewChangeConfirm': this.onViewChangeConfirm(msg, ctx); break;
      case 'ViewChangeConfirmed': this.onViewChangeConfirmed(msg, ctx); break;
      case 'StartView': this.onStartView(msg, ctx); break;
      case 'StartViewReply': this.onStartViewReply(msg, ctx); break;
      case 'SyncPrepareRequest': this.onSyncPrepareRequest(msg, ctx); break;
      case 'SyncPrepare': this.onSyncPrepare(msg, ctx); break;
      case 'SyncPrepareReply': this.onSyncPrepareReply(msg, ctx); break;
      case 'SyncCommit': this.onSyncCommit(msg, ctx); break;
      case 'Recovery': this.onRecovery(msg, ctx); break;
      case 'RecoveryResponse': this.onRecoveryResponse(msg, ctx); break;
      case 'SessionReserve': this.onSessionReserve(msg, ctx); break;
      case 'GapWaitTimeout': this.onGapWaitTimeout(ctx); break;
      case 'GapRequestTimeout': this.onGapRequestTimeout(ctx); break;
      case 'GapCommitTimeout': this.onGapCommitTimeout(ctx); break;
      case 'ViewChangeTimeout': this.onViewChangeTimeout(ctx); break;
      case 'StateTransferTimeout': this.onStateTransferTimeout(ctx); break;
      case 'StartViewTimeout': this.onStartViewTimeout(ctx); break;
      case 'SyncTimeout': this.onSyncTimeout(ctx); break;
      case 'LeaderSyncHeardTimeout': this.onLeaderSyncHeardTimeout(ctx); break;
      case 'RecoveryTimeout': this.onRecoveryTimeout(ctx); break;
      case 'ExecuteTimeout': this.executeCommittedChunk(ctx, EXECUTE_IDLE_CHUNK_OPS); break;
      default: assertNever(msg);
    }
    this.maybeFinishStateTransfer(ctx);
    this.processPending(ctx);
    this.prefetchHoles(ctx);
    this.executeCommittedChunk(ctx, EXECUTE_CHUNK_OPS);
    this.checkpointAndTruncate(committedBefore);
  }

  /**
   * A follower executes what is committed a little per message it handles (and per zero-delay
   * self-message while a backlog remains), not the whole sync interval at once: a SyncCommit
   * would otherwise stall its replies to clients for as long.
   */
  private executeCommittedChunk(ctx: C, chunk: number): void {
    if (this.status !== 'normal' || this.amLeader()) return;
    const upTo = this.lastCommittedOp;
    if (this.app.lastExecuted >= upTo) return;
    this.executeUpToOp(ctx, Math.min(upTo, this.app.lastExecuted + chunk));
    this.app.stabilize(upTo);
    if (this.app.lastExecuted < upTo && !ctx.isTimerActive('execute')) ctx.startTimer('execute', 0, { type: 'ExecuteTimeout' });
  }

  // ---- normal case -------------------------------------------------------------------------

  private onRequest(msg: Request): void {
    this.stats.requests++;
    // The receiver keeps it in (sessNum, msgNum) order until the replica can process it.
    if (offer(this.receiver, msg) === 'buffered') this.noteHoles(msg.oum.msgNum);
  }

  /** Remember the msgNums a request skipped over (missing, so far), for `prefetchHoles`. */
  private noteHoles(msgNum: number): void {
    const r = this.receiver;
    if (this.holesSession !== r.sessionNum) {
      this.holesSession = r.sessionNum;
      this.holes = [];
      this.highestSeenMsgNum = 0;
    }
    this.arrivals++;
    const from = Math.max(this.highestSeenMsgNum + 1, r.nextMsgNum + 1);
    if (msgNum > this.highestSeenMsgNum) this.highestSeenMsgNum = msgNum;
    // Beyond the bound (a long partition) the next-slot path and synchronization catch up.
    for (let h = from; h < msgNum && this.holes.length < MAX_PREFETCH_HOLES; h++) this.holes.push({ msgNum: h, arrivals: this.arrivals });
  }

  /**
   * Ask for the holes further on than the next slot as soon as GAP_CONFIRM_MSGS later requests
   * show them lost, while the log is still held up before them, instead of one round trip after
   * another once each becomes the next slot: at 1 % loss and a few hundred thousand requests a
   * second a replica sees a hole every half millisecond, about one GapRequest round trip, so one
   * at a time it falls ever further behind (and the clients, which need f followers' replies,
   * wait with it). A found answer goes into the OUM receiver under the request's own stamp, as
   * if the network had delivered the lost copy late (which it may do anyway), so nothing changes
   * for safety; the hole, once it is the next slot, is still resolved by gap agreement if no
   * answer came (the next slot is never asked for here).
   */
  private prefetchHoles(ctx: C): void {
    const r = this.receiver;
    if (this.holes.length === 0 || this.holesSession !== r.sessionNum) return;
    if (this.status !== 'normal' && this.status !== 'gapCommit') return;
    if (r.sessionNum !== this.sessNum || this.n === 1) return; // a single replica has nobody to ask
    let i = 0;
    for (; i < this.holes.length; i++) {
      const h = this.holes[i]!;
      if (h.msgNum <= r.nextMsgNum || r.buffer.has(h.msgNum)) continue;
      if (this.arrivals - h.arrivals < GAP_CONFIRM_MSGS) break;
      this.stats.gapPrefetches++;
      const req: GapRequest = { type: 'GapRequest', view: this.view, sessNum: this.sessNum, opNum: this.lastOp + 1 + (h.msgNum - r.nextMsgNum), replicaIdx: this.idx };
      this.send(ctx, this.cfg.replicas[this.prefetchPeer()]!, req);
    }
    this.holes.splice(0, i);
  }

  /**
   * One other follower, in turn: any replica has what the sequencer sent it, and one answer is
   * enough (the next-slot path backs it up). The leader, the bottleneck at saturation, is asked
   * only when there is no other follower.
   */
  private prefetchPeer(): number {
    const leader = this.leaderOf(this.view);
    for (let k = 0; k < this.n; k++) {
      this.prefetchTurn = (this.prefetchTurn + 1) % this.n;
      if (this.prefetchTurn !== this.idx && this.prefetchTurn !== leader) return this.prefetchTurn;
    }
    return leader;
  }

  /** A found answer to `prefetchHoles`: the lost copy, under its own stamp. */
  private takePrefetched(msg: GapReply): void {
    if (!msg.isFound || msg.isGap || msg.request === undefined) return;
    const r = this.receiver;
    const stamp = msg.request.oum;
    if (r.sessionNum !== this.sessNum || stamp.sessionNum !== this.sessNum) return;
    // The slot asked for holds this msgNum here (same view and session: one msgNum per slot).
    if (stamp.msgNum !== r.nextMsgNum + (msg.opNum - this.lastOp - 1)) return;
    offer(r, msg.request);
  }

  /** Process waiting requests while Normal: in order, until a gap or a new session. */
  private processPending(ctx: C): void {
    while (this.status === 'normal') {
      check(this.receiver.sessionNum === this.sessNum, 'the receiver listens to the current session');
      const ev = nextEvent(this.receiver);
      if (ev === undefined) return;
      switch (ev.type) {
        case 'Deliver':
          this.processNextOperation(ctx, ev.msg, this.view, this.sessNum, ev.msg.oum.msgNum, 'received');
          break;
        case 'DropNotification':
          // Ask at most once at a time; the timers resend.
          if (!ctx.isTimerActive('gapRequest') && !ctx.isTimerActive('gapCommit')) {
            // Many later messages already here: the missing one is lost, not reordered (reordering
            // is short); ask at once, as the reference always does, instead of blocking the log.
            if (waiting(this.receiver) >= GAP_CONFIRM_MSGS) {
              ctx.cancelTimer('gapWait');
              this.sendGapRequest(ctx);
            } else if (!ctx.isTimerActive('gapWait')) {
              ctx.startTimer('gapWait', this.t.gapWaitMs, { type: 'GapWaitTimeout' });
            }
          }
          return;
        case 'SessionTerminated':
          this.startViewChange(ctx, ev.sessionNum, this.view);
          return;
        default:
          assertNever(ev);
      }
    }
  }

  /** Append the next slot (the reference's ProcessNextOperation). */
  private processNextOperation(ctx: C, request: Request | undefined, view: number, sessNum: number, msgNum: number, state: LogEntryState): void {
    for (;;) {
      const opNum = this.lastOp + 1;
      // A slot already decided as a gap (view change, synchronization) is a NO-OP whatever came.
      const st: LogEntryState = this.committedGaps.has(opNum) ? 'noop' : state;
      check(st === 'noop' || request !== undefined, `slot ${opNum}: a received entry needs its request`);
      const entry: LogEntry = st === 'received'
        ? { opNum, view, sessNum, msgNum, state: st, request }
        : { opNum, view, sessNum, msgNum, state: st };
      this.log.push(entry);
      if (sessNum === this.receiver.sessionNum) advanceTo(this.receiver, msgNum + 1);
      if (ctx.isTimerActive('gapRequest') || ctx.isTimerActive('gapWait')) {
        ctx.cancelTimer('gapRequest');
        ctx.cancelTimer('gapWait');
        this.gapReplies.clear();
      }
      this.answerDeferredGapRequests(ctx, entry);
      if (st === 'noop') {
        this.committedGaps.add(opNum);
        if (this.deferredGapCommits.delete(opNum)) this.sendGapCommitReply(ctx, opNum);
      } else if (this.leaderOf(view) === this.idx) {
        this.executeUpToOp(ctx, opNum);
      } else {
        this.sendReply(ctx, entry, undefined);
      }
      // Gaps installed beyond the log can be appended now, in the current session only (during
      // a view change they come by state transfer, with their own stamps).
      const next = this.lastOp + 1;
      if (!this.committedGaps.has(next) || (this.status !== 'normal' && this.status !== 'gapCommit') || sessNum !== this.sessNum) return;
      request = undefined;
      msgNum = msgNum + 1;
      state = 'noop';
    }
  }

  private executeUpToOp(ctx: C, opNum: number): void {
    if (opNum <= this.app.lastExecuted) return;
    check(opNum <= this.lastOp, `execute up to ${opNum} beyond the log (${this.lastOp})`);
    for (let op = this.app.lastExecuted + 1; op <= opNum; op++) {
      const e = this.entry(op)!;
      if (e.state === 'noop') {
        this.app.skip(op);
        continue;
      }
      const req = e.request!;
      const out = this.app.execute(op, req);
      this.meter.execute();
      if (out.kind === 'stale') continue;
      // Only the leader of the entry's view answers with the result; the others answered when
      // they appended it.
      if (this.leaderOf(e.view) === this.idx) this.sendReply(ctx, e, out.result);
    }
  }

  private commitUpToOp(ctx: C, opNum: number): void {
    if (opNum <= this.lastCommittedOp) return;
    check(opNum <= this.lastOp, `commit up to ${opNum} beyond the log (${this.lastOp})`);
    this.lastCommittedOp = opNum;
    const p = this.pendingCheckpoint;
    if (p !== undefined && p.slot <= opNum) {
      this.checkpoint = p;
      this.pendingCheckpoint = undefined;
    }
    if (this.amLeader()) this.sendSyncCommit(ctx);
    // A Normal follower executes it in chunks (executeCommittedChunk, after every message).
    if (this.amLeader() || this.status !== 'normal') this.executeUpToOp(ctx, opNum);
    this.app.stabilize(opNum);
  }

  private sendReply(ctx: C, e: LogEntry, result: Reply['result']): void {
    if (this.silent) return;
    const req = e.request!;
    const reply: Reply = result === undefined
      ? { type: 'Reply', view: e.view, sessNum: e.sessNum, opNum: e.opNum, clientReqId: req.clientReqId, replicaIdx: this.idx }
      : { type: 'Reply', view: e.view, sessNum: e.sessNum, opNum: e.opNum, clientReqId: req.clientReqId, replicaIdx: this.idx, result };
    this.send(ctx, req.client, reply);
  }

  // ---- gap agreement -----------------------------------------------------------------------

  private onGapWaitTimeout(ctx: C): void {
    // Still missing after the wait (processNextOperation cancels the timer when it fills the slot).
    if (this.status === 'normal') this.sendGapRequest(ctx);
  }

  private sendGapRequest(ctx: C): void {
    this.stats.gapRequests++;
    const req: GapRequest = { type: 'GapRequest', view: this.view, sessNum: this.sessNum, opNum: this.lastOp + 1, replicaIdx: this.idx };
    if (this.amLeader()) this.broadcast(ctx, req);
    else this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, req);
    ctx.startTimer('gapRequest', this.t.gapRequestMs, { type: 'GapRequestTimeout' });
  }

  private onGapRequestTimeout(ctx: C): void {
    if (this.status !== 'normal') return;
    if (this.amLeader()) this.startGapAgreement(ctx);
    else this.sendGapRequest(ctx);
  }

  private onGapRequest(msg: GapRequest, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    const to = this.cfg.replicas[msg.replicaIdx];
    if (to === undefined) return;
    if (msg.opNum <= this.logBase) {
      // Truncated here: the asker is behind by more than the tail. The leader points it to its
      // latest sync point, whose state transfer brings it a snapshot; the others stay silent.
      if (this.amLeader()) this.send(ctx, to, this.syncPrepareMessage());
      return;
    }
    const e = this.entry(msg.opNum);
    const base = { type: 'GapReply', view: this.view, sessNum: this.sessNum, opNum: msg.opNum, replicaIdx: this.idx } as const;
    if (e !== undefined) {
      if (e.state === 'received') this.send(ctx, to, { ...base, isFound: true, isGap: false, request: e.request! });
      else this.send(ctx, to, { ...base, isFound: true, isGap: true });
    } else if (this.status === 'normal' && msg.opNum > this.lastOp + 1 && !this.committedGaps.has(msg.opNum)
      && this.receiver.sessionNum === this.sessNum) {
      // Not in the log yet, but maybe received and waiting behind our own gap: in this view and
      // session slot k holds msgNum nextMsgNum + (k - lastOp - 1) (every slot takes one msgNum),
      // and that request is what this replica will append there. Answer with it; otherwise stay
      // silent (it may still be on its way).
      const m = this.receiver.buffer.get(this.receiver.nextMsgNum + (msg.opNum - this.lastOp - 1));
      if (m !== undefined) this.send(ctx, to, { ...base, isFound: true, isGap: false, request: m });
      else this.deferGapRequest(msg);
    } else if (ctx.isTimerActive('gapRequest') && this.lastOp + 1 === msg.opNum) {
      // Say "not found" only when missing it too (asking for it ourselves).
      this.send(ctx, to, { ...base, isFound: false, isGap: false });
      this.deferGapRequest(msg);
    } else if (this.status === 'normal' || this.status === 'gapCommit') {
      this.deferGapRequest(msg);
    }
  }

  /**
   * The leader remembers a follower's GapRequest for a slot it has not filled yet (it is behind
   * the follower, or resolving the same gap) and answers as soon as it appends that slot, rather
   * than leaving the follower blocked until its GapRequest timeout resends.
   */
  private deferGapRequest(msg: GapRequest): void {
    if (!this.amLeader() || msg.replicaIdx === this.idx || this.deferredGapRequestCount >= MAX_PENDING_REQUESTS) return;
    let set = this.deferredGapRequests.get(msg.opNum);
    if (set === undefined) this.deferredGapRequests.set(msg.opNum, (set = new Set()));
    if (set.has(msg.replicaIdx)) return;
    set.add(msg.replicaIdx);
    this.deferredGapRequestCount++;
  }

  private answerDeferredGapRequests(ctx: C, e: LogEntry): void {
    if (this.deferredGapRequestCount === 0) return;
    const set = this.deferredGapRequests.get(e.opNum);
    if (set === undefined) return;
    this.deferredGapRequests.delete(e.opNum);
    this.deferredGapRequestCount -= set.size;
    if (e.view !== this.view || e.sessNum !== this.sessNum) return;
    const base = { type: 'GapReply', view: this.view, sessNum: this.sessNum, opNum: e.opNum, replicaIdx: this.idx } as const;
    for (const idx of set) {
      const to = this.cfg.replicas[idx];
      if (to === undefined) continue;
      if (e.state === 'received') this.send(ctx, to, { ...base, isFound: true, isGap: false, request: e.request! });
      else this.send(ctx, to, { ...base, isFound: true, isGap: true });
    }
  }

  private onGapReply(msg: GapReply, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    if (msg.opNum <= this.lastOp) return; // an old answer
    // A follower takes the next slot as is (a request or a NO-OP) only from the leader; other
    // answers (to prefetchHoles) only bring a lost copy back.
    if (msg.opNum > this.lastOp + 1 || (!this.amLeader() && msg.replicaIdx !== this.leaderOf(this.view))) return this.takePrefetched(msg);
    if (this.status === 'gapCommit') {
      check(this.amLeader(), 'only the leader is in GapCommit');
      return;
    }
    if (msg.isFound) {
      // The slot's stamp is the one the receiver is waiting for: same view, so same numbering.
      const msgNum = this.receiver.nextMsgNum;
      if (msg.isGap) {
        this.processNextOperation(ctx, undefined, this.view, this.sessNum, msgNum, 'noop');
      } else {
        check(msg.request !== undefined, 'a found GapReply carries the request');
        this.processNextOperation(ctx, msg.request, this.view, this.sessNum, msgNum, 'received');
      }
    } else if (this.amLeader()) {
      // Every other replica lacks it too: no need to wait for the timeout.
      this.gapReplies.add(msg.replicaIdx);
      if (this.gapReplies.size >= this.n - 1) this.startGapAgreement(ctx);
    }
  }

  private startGapAgreement(ctx: C): void {
    check(this.amLeader() && this.status === 'normal', 'gap agreement is the leader\'s, in Normal');
    this.gapReplies.clear();
    ctx.cancelTimer('gapRequest');
    ctx.cancelTimer('gapWait');
    // Client requests wait (in the receiver) until f replicas have the NO-OP.
    this.status = 'gapCommit';
    this.gapCommitReplies.clear();
    this.stats.gapCommits++;
    this.processNextOperation(ctx, undefined, this.view, this.sessNum, this.receiver.nextMsgNum, 'noop');
    this.sendGapCommit(ctx);
    if (this.f === 0) this.status = 'normal';
  }

  private sendGapCommit(ctx: C): void {
    check(this.amLeader() && this.status === 'gapCommit', 'GapCommit comes from the leader in GapCommit');
    this.broadcast(ctx, { type: 'GapCommit', sessNum: this.sessNum, view: this.view, opNum: this.lastOp });
    ctx.startTimer('gapCommit', this.t.gapCommitMs, { type: 'GapCommitTimeout' });
  }

  private onGapCommitTimeout(ctx: C): void {
    if (this.status === 'gapCommit') this.sendGapCommit(ctx);
  }

  private onGapCommit(msg: GapCommit, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    check(!this.amLeader(), 'the leader never receives its own GapCommit');
    if (this.lastOp + 1 < msg.opNum) {
      // Not there yet: remember it, answer once the earlier slots are filled (processNextOperation
      // answers as soon as the NO-OP is appended, so the leader need not wait for its resend).
      this.committedGaps.add(msg.opNum);
      this.deferredGapCommits.add(msg.opNum);
      return;
    }
    if (msg.opNum <= this.logBase) {
      // A late copy for a slot truncated here: committed, so it holds the NO-OP. Acknowledge only.
    } else if (this.lastOp >= msg.opNum) {
      // Already there (a request, overwritten now; or the NO-OP, from a resent GapCommit).
      this.committedGaps.add(msg.opNum);
      if (this.entry(msg.opNum)!.state !== 'noop') this.setNoop(msg.opNum);
    } else {
      this.processNextOperation(ctx, undefined, this.view, this.sessNum, this.receiver.nextMsgNum, 'noop');
    }
    this.deferredGapCommits.delete(msg.opNum);
    this.sendGapCommitReply(ctx, msg.opNum);
  }

  private sendGapCommitReply(ctx: C, opNum: number): void {
    if (this.amLeader()) return;
    const reply: GapCommitReply = { type: 'GapCommitReply', sessNum: this.sessNum, view: this.view, opNum, replicaIdx: this.idx };
    this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, reply);
  }

  private onGapCommitReply(msg: GapCommitReply, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    if (this.status !== 'gapCommit' || !this.amLeader()) return;
    if (msg.opNum !== this.lastOp) return;
    this.gapCommitReplies.add(msg.replicaIdx);
    if (this.gapCommitReplies.size >= this.f) {
      this.status = 'normal';
      this.gapCommitReplies.clear();
      ctx.cancelTimer('gapCommit');
    }
  }

  // ---- state transfer ----------------------------------------------------------------------

  /** The last slot the transfer has (in the log, or staged; catchUp: the commit point). */
  private transferHas(st: StateTransfer): number {
    if (st.purpose === 'catchUp') return this.lastCommittedOp;
    if (st.install) return (st.install.snapshot?.slot ?? st.install.keep) + st.install.staged.length;
    return this.lastOp;
  }

  /**
   * Bring the commit point to `target` at least with a snapshot from `from` (whose log base
   * reached `target`), before anything that relies on gap lists: a replica lists only the NO-OPs
   * above its log base, so slots of ours at or below a peer's base that are not committed here
   * may lack a NO-OP nobody lists any more. The snapshot (committed state) replaces them.
   */
  private startCatchUp(ctx: C, from: number, target: number, then: 'merge' | 'sync', candidates: number[]): void {
    this.startStateTransfer(ctx, { begin: this.lastCommittedOp + 1, end: target, replicaIdx: from, purpose: 'catchUp', then, candidates });
  }

  private startStateTransfer(ctx: C, st: StateTransfer): void {
    check(st.end >= st.begin && st.begin === this.transferHas(st) + 1, `state transfer ${st.begin}..${st.end} after ${this.transferHas(st)}`);
    this.stateTransfer = st;
    this.stats.stateTransfers++;
    this.sendStateTransferRequest(ctx);
  }

  private sendStateTransferRequest(ctx: C): void {
    const st = this.stateTransfer!;
    const begin = this.transferHas(st) + 1;
    // A catch-up asks for one slot below the source's base: only the snapshot is wanted.
    const end = st.purpose === 'catchUp' ? begin + 1 : Math.min(st.end + 1, begin + this.maxTransferOps);
    const req: StateTransferRequest = { type: 'StateTransferRequest', sessNum: this.sessNum, view: this.view, begin, end, replicaIdx: this.idx };
    this.send(ctx, this.cfg.replicas[st.replicaIdx]!, req);
    ctx.startTimer('stateTransfer', this.t.stateTransferMs, { type: 'StateTransferTimeout' });
  }

  private onStateTransferTimeout(ctx: C): void {
    const st = this.stateTransfer;
    if (st === undefined) return;
    // Try the next replica known to hold the range (the reference retries only the first).
    const next = st.candidates.shift();
    if (next !== undefined) {
      st.candidates.push(st.replicaIdx);
      st.replicaIdx = next;
    }
    this.sendStateTransferRequest(ctx);
  }

  private onStateTransferRequest(msg: StateTransferRequest, ctx: C): void {
    // Answer only in the same view-id (in any status: a new leader fetches during ViewChange).
    if (msg.sessNum !== this.sessNum || msg.view !== this.view) return;
    const to = this.cfg.replicas[msg.replicaIdx];
    if (to === undefined || msg.begin < 1 || msg.begin > this.lastOp) return;
    if (msg.begin <= this.logBase) return this.sendSnapshot(ctx, to, msg.end);
    const end = Math.min(msg.end, this.lastOp + 1, msg.begin + this.maxTransferOps);
    if (end <= msg.begin) return;
    const entries = this.log.slice(msg.begin - this.logBase - 1, end - this.logBase - 1);
    this.meter.entries(entries.length);
    this.send(ctx, to, { type: 'StateTransferReply', sessNum: this.sessNum, view: this.view, begin: msg.begin, end, entries });
  }

  /**
   * In place of truncated entries: the checkpoint, and the entries after it up to `askedEnd`. A
   * checkpoint of more items (keys and clients) than maxTransferOps goes in parts, all at once
   * (so they all come from the same checkpoint; a lost one costs a new round on the asker's
   * timeout), with no entries: the asker asks for those once it has the whole snapshot.
   */
  private sendSnapshot(ctx: C, to: ActorRef<ReplicaMsg>, askedEnd: number): void {
    const snapshot = this.checkpoint;
    check(snapshot !== undefined && snapshot.slot >= this.logBase, `a checkpoint covers the truncated slots up to ${this.logBase}`);
    const begin = snapshot.slot + 1;
    this.stats.snapshotsSent++;
    const { data, clients } = snapshot.app;
    const per = this.maxTransferOps;
    const parts = Math.max(1, Math.ceil((data.length + clients.length) / per));
    const base = { type: 'StateTransferReply', sessNum: this.sessNum, view: this.view, begin } as const;
    if (parts === 1) {
      const end = Math.max(begin, Math.min(askedEnd, this.lastOp + 1, begin + per));
      const entries = this.log.slice(begin - this.logBase - 1, end - this.logBase - 1);
      this.meter.entries(entries.length + 1);
      this.send(ctx, to, { ...base, end, entries, snapshot });
      return;
    }
    for (let part = 0; part < parts; part++) {
      // Items part*per .. (part+1)*per - 1 of the data followed by the client table.
      const from = part * per;
      const app = {
        data: data.slice(Math.min(from, data.length), Math.min(from + per, data.length)),
        clients: clients.slice(Math.max(0, from - data.length), Math.max(0, from + per - data.length)),
      };
      this.meter.entries(1);
      this.send(ctx, to, { ...base, end: begin, entries: [], snapshot: { ...snapshot, app }, part, parts });
    }
  }

  /** A snapshot in parts: the whole snapshot once every part of one checkpoint is here. */
  private assembleSnapshot(msg: StateTransferReply): Snapshot | undefined {
    const snap = msg.snapshot!;
    const parts = msg.parts ?? 1;
    const part = msg.part ?? 0;
    if (parts === 1) return snap;
    if (part >= parts) return undefined;
    let a = this.snapshotParts;
    if (a === undefined || a.slot !== snap.slot || a.got.length !== parts) {
      a = { slot: snap.slot, got: new Array<Snapshot | undefined>(parts).fill(undefined), have: 0 };
      this.snapshotParts = a;
    }
    if (a.got[part] !== undefined) return undefined;
    a.got[part] = snap;
    if (++a.have < parts) return undefined;
    this.snapshotParts = undefined;
    const got = a.got as Snapshot[];
    return { ...snap, app: { data: got.flatMap((p) => p.app.data), clients: got.flatMap((p) => p.app.clients) } };
  }

  private onStateTransferReply(msg: StateTransferReply, ctx: C): void {
    if (msg.sessNum !== this.sessNum || msg.view !== this.view) return;
    const st = this.stateTransfer;
    if (st === undefined) return;
    if (msg.snapshot !== undefined) {
      if (this.status === 'recovering') ctx.startTimer('recovery', this.t.recoveryMs, { type: 'RecoveryTimeout' });
      const snap = this.assembleSnapshot(msg);
      if (snap === undefined) return;
      this.takeTransferSnapshot(ctx, st, snap);
      // A snapshot in parts came without entries: ask for them now.
      if ((msg.parts ?? 1) > 1 && st.purpose !== 'catchUp' && this.transferHas(st) < st.end) this.sendStateTransferRequest(ctx);
    }
    // A catch-up wants the snapshot only.
    if (st.purpose === 'catchUp' || msg.end - 1 <= this.transferHas(st) || msg.begin > this.transferHas(st) + 1) return;
    this.meter.entries(msg.entries.length);
    if (st.install) {
      // Staged: the log changes only when everything is in.
      const had = this.transferHas(st);
      for (const e of msg.entries) {
        if (this.transferHas(st) >= st.end) break;
        if (e.opNum === this.transferHas(st) + 1) st.install.staged.push(e);
      }
      // Progress: the source is alive, do not give up on this view for a long transfer.
      if (this.transferHas(st) > had) this.viewChangeAttempts = 0;
      if (this.transferHas(st) < st.end) this.sendStateTransferRequest(ctx);
      return;
    }
    for (let i = this.lastOp + 1 - msg.begin; i < msg.entries.length && this.lastOp < st.end; i++) {
      const e = msg.entries[i]!;
      // Appending a slot may have appended known gaps after it too.
      if (e.opNum <= this.lastOp) continue;
      check(e.opNum === this.lastOp + 1, `state transfer entry ${e.opNum} after ${this.lastOp}`);
      // A slot this replica knows to be a gap becomes a NO-OP whatever the source had.
      this.processNextOperation(ctx, e.request, e.view, e.sessNum, e.msgNum, e.state);
    }
    if (this.status === 'recovering') ctx.startTimer('recovery', this.t.recoveryMs, { type: 'RecoveryTimeout' });
    if (this.lastOp < st.end) this.sendStateTransferRequest(ctx);
  }

  /** A snapshot in a transfer reply: staged for a view change, installed now otherwise. */
  private takeTransferSnapshot(ctx: C, st: StateTransfer, snap: Snapshot): void {
    if (snap.slot <= this.lastCommittedOp || snap.slot <= this.transferHas(st)) return; // nothing new
    this.meter.entries(1);
    if (st.install) {
      st.install.snapshot = snap;
      st.install.staged = [];
      this.viewChangeAttempts = 0;
      return;
    }
    this.installSnapshot(ctx, snap);
  }

  /**
   * Adopt a snapshot (committed state after slot P > our commit point): it replaces the
   * application state and every slot up to P; slots of ours above P stay (where they could be
   * wrong, the caller discards them: see startCatchUp and installLog). P becomes the commit
   * point, the log base and the checkpoint.
   */
  private installSnapshot(ctx: C, snap: Snapshot): void {
    check(snap.slot > this.lastCommittedOp, `installing a snapshot at ${snap.slot}, not above the commit point ${this.lastCommittedOp}`);
    check(this.status !== 'normal' || !this.amLeader(), 'the leader of a view in progress installs no snapshot');
    if (this.lastOp > snap.slot) this.log.splice(0, snap.slot - this.logBase);
    else this.log.length = 0;
    this.logBase = snap.slot;
    this.baseStamp = { view: snap.view, sessNum: snap.sessNum, msgNum: snap.msgNum };
    this.app.restore(snap.app, snap.slot);
    this.lastCommittedOp = snap.slot;
    this.checkpoint = snap;
    this.pendingCheckpoint = undefined;
    for (const g of this.committedGaps) if (g <= snap.slot) this.committedGaps.delete(g);
    this.logVersion++;
    this.stats.snapshotsInstalled++;
    ctx.log.debug({ slot: snap.slot }, 'installed a snapshot');
    // The log ends at the snapshot now: the OUM receiver goes on from the message after it.
    const r = this.receiver;
    if (this.lastOp === snap.slot && (this.status === 'normal' || this.status === 'gapCommit') && r.sessionNum === this.sessNum && snap.sessNum === this.sessNum) {
      advanceTo(r, snap.msgNum + 1);
    }
  }

  /** The log reached the end of the transfer (by transfer, or by normal processing). */
  private maybeFinishStateTransfer(ctx: C): void {
    const st = this.stateTransfer;
    if (st === undefined || this.transferHas(st) < st.end) return;
    this.stateTransfer = undefined;
    ctx.cancelTimer('stateTransfer');
    switch (st.purpose) {
      case 'enterView':
        check(st.install !== undefined, 'a view change installs a whole log');
        this.installLog(ctx, st.install.keep, st.install.gaps, st.install.staged, st.install.snapshot);
        return this.enterView(ctx, this.sessNum, this.view);
      case 'sync': return this.processSyncPrepare(ctx, st.syncPoint!);
      case 'recovery': return this.finishRecovery(ctx);
      case 'catchUp':
        if (st.then === 'merge') {
          if (this.amLeader() && this.status === 'viewChange') this.tryMergeViewChanges(ctx);
        } else if (this.status === 'normal' || this.status === 'gapCommit') {
          // Now the leader's gap list covers everything we have not committed: sync again.
          this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, { type: 'SyncPrepareRequest', sessNum: this.sessNum, view: this.view, replicaIdx: this.idx });
        }
        return;
    }
  }

  // ---- view change -------------------------------------------------------------------------

  private checkViewNumAndStatus(ctx: C, sessNum: number, view: number): boolean {
    if (sessNum < this.sessNum || view < this.view) return false;
    if (sessNum > this.sessNum || view > this.view) {
      this.startViewChange(ctx, sessNum, view);
      return false;
    }
    return this.status === 'normal' || this.status === 'gapCommit';
  }

  private startViewChange(ctx: C, newSessNum: number, newView: number): void {
    check(this.status !== 'recovering', 'a recovering replica takes no part in view changes');
    check(newSessNum > this.sessNum || newView > this.view, 'a view change raises the view-id');
    // Never lower either part of the view-id.
    newSessNum = Math.max(newSessNum, this.sessNum);
    newView = Math.max(newView, this.view);
    ctx.log.debug({ sessNum: newSessNum, view: newView }, 'view change');
    this.clearTimeoutsAndQuorums(ctx);
    this.sessNum = newSessNum;
    this.view = newView;
    this.status = 'viewChange';
    this.viewChangeAttempts = 0;
    this.stats.viewChanges++;
    // Gaps beyond the log were never acknowledged (GapCommit is answered only in order): drop them.
    for (const g of [...this.committedGaps]) if (g > this.lastOp) this.committedGaps.delete(g);
    this.sendViewChange(ctx);
  }

  private sendViewChange(ctx: C): void {
    this.broadcast(ctx, { type: 'ViewChangeRequest', sessNum: this.sessNum, view: this.view });
    if (this.amLeader()) {
      if (this.stateTransfer === undefined) this.tryMergeViewChanges(ctx);
    } else {
      const vc: ViewChange = {
        type: 'ViewChange', sessNum: this.sessNum, view: this.view, lastNormalSessNum: this.lastNormalSessNum,
        lastNormalView: this.lastNormalView, lastOp: this.lastOp, committedGaps: sorted(this.committedGaps), gapsFrom: this.logBase,
        replicaIdx: this.idx, incarnation: ctx.incarnation,
      };
      this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, vc);
    }
    ctx.startTimer('viewChange', this.t.viewChangeMs, { type: 'ViewChangeTimeout' });
  }

  private onViewChangeTimeout(ctx: C): void {
    if (this.status !== 'viewChange') return;
    this.viewChangeAttempts++;
    // The new leader may be down too: after a few tries, suspect it and move to the next view.
    if (this.viewChangeAttempts >= VIEW_CHANGE_ATTEMPTS) this.startViewChange(ctx, this.sessNum, this.view + 1);
    else this.sendViewChange(ctx);
  }

  private onViewChangeRequest(msg: ViewChangeRequest, ctx: C): void {
    if (msg.sessNum > this.sessNum || msg.view > this.view) this.startViewChange(ctx, msg.sessNum, msg.view);
  }

  private onViewChange(msg: ViewChange, ctx: C): void {
    if (msg.sessNum > this.sessNum || msg.view > this.view) this.startViewChange(ctx, msg.sessNum, msg.view);
    if (msg.sessNum < this.sessNum || msg.view < this.view) return;
    check(this.amLeader(), `a ViewChange for view ${msg.view} reached replica ${this.idx}, not its leader`);
    if (this.status !== 'viewChange') {
      // Already in the new view: the sender missed START-VIEW. Send it again.
      if (this.startViewRecord !== undefined) this.send(ctx, this.cfg.replicas[msg.replicaIdx]!, this.startViewMessage());
      return;
    }
    // A vote from another life of the sender replaces the one before, unconfirmed.
    if (this.viewChanges.get(msg.replicaIdx)?.incarnation !== msg.incarnation) this.confirmedViewChanges.delete(msg.replicaIdx);
    this.viewChanges.set(msg.replicaIdx, msg);
    // While fetching the merged log, new ViewChange messages change nothing.
    if (this.stateTransfer === undefined) this.tryMergeViewChanges(ctx);
  }

  /** Answer for this life only: a vote of an earlier one (before a crash) is not this replica's any more. */
  private onViewChangeConfirm(msg: ViewChangeConfirm, ctx: C): void {
    if (msg.incarnation !== ctx.incarnation || this.cfg.replicas[msg.replicaIdx] === undefined) return;
    this.send(ctx, this.cfg.replicas[msg.replicaIdx]!, { type: 'ViewChangeConfirmed', sessNum: msg.sessNum, view: msg.view, incarnation: msg.incarnation, replicaIdx: this.idx });
  }

  private onViewChangeConfirmed(msg: ViewChangeConfirmed, ctx: C): void {
    if (msg.sessNum !== this.sessNum || msg.view !== this.view || this.status !== 'viewChange' || !this.amLeader()) return;
    if (this.viewChanges.get(msg.replicaIdx)?.incarnation !== msg.incarnation) return;
    this.confirmedViewChanges.add(msg.replicaIdx);
    if (this.stateTransfer === undefined) this.tryMergeViewChanges(ctx);
  }

  /**
   * The new leader, with f ViewChange messages (and its own state), merges the logs. A vote
   * counts once its sender, asked after it arrived, answered that it is still the life that cast
   * it: a replica without disk that crashed and recovered may have acted in the old view since
   * (the vote of its earlier life, late on the way, would lose what it acknowledged there). A
   * life that confirms keeps its vote's promise from then on. The questions go again at every
   * view-change timeout until f votes are confirmed.
   */
  private tryMergeViewChanges(ctx: C): void {
    check(this.amLeader() && this.status === 'viewChange', 'merging is the new leader\'s');
    if (this.viewChanges.size < this.f) return;
    if (this.confirmedViewChanges.size < this.f) {
      for (const vc of this.viewChanges.values()) {
        if (this.confirmedViewChanges.has(vc.replicaIdx)) continue;
        this.send(ctx, this.cfg.replicas[vc.replicaIdx]!, { type: 'ViewChangeConfirm', sessNum: this.sessNum, view: this.view, incarnation: vc.incarnation, replicaIdx: this.idx });
      }
      return;
    }
    const msgs = [...this.viewChanges.values()].filter((x) => this.confirmedViewChanges.has(x.replicaIdx));
    // A committed NO-OP missing from every gap list below was truncated by a sender whose log
    // base is at or above it: catch up to the highest base first (startCatchUp).
    let ahead: ViewChange | undefined;
    for (const x of msgs) if (x.gapsFrom > this.lastCommittedOp && (ahead === undefined || x.gapsFrom > ahead.gapsFrom)) ahead = x;
    if (ahead !== undefined) {
      const others = msgs.filter((x) => x !== ahead && x.gapsFrom > this.lastCommittedOp).map((x) => x.replicaIdx);
      return this.startCatchUp(ctx, ahead.replicaIdx, ahead.gapsFrom, 'merge', others);
    }
    // The latest view-id in which any of them was Normal.
    let latest = { sessNum: this.lastNormalSessNum, view: this.lastNormalView };
    for (const x of msgs) {
      const v = { sessNum: x.lastNormalSessNum, view: x.lastNormalView };
      if (viewLt(latest, v)) latest = v;
      else check(viewLe(v, latest), `last normal views ${fmt(v)} and ${fmt(latest)} are not comparable`);
    }
    const mineIsLatest = viewEq(latest, { sessNum: this.lastNormalSessNum, view: this.lastNormalView });
    // My log counts if it is from the latest normal view; otherwise only its committed prefix.
    const keep = mineIsLatest ? this.lastOp : this.lastCommittedOp;
    const gaps = new Set<number>();
    if (mineIsLatest) for (const g of this.committedGaps) gaps.add(g);
    let latestOp = keep;
    let latestIdx = -1;
    const holders: ViewChange[] = [];
    for (const x of msgs) {
      if (!viewEq(latest, { sessNum: x.lastNormalSessNum, view: x.lastNormalView })) continue;
      holders.push(x);
      // Every NO-OP committed in the latest view is in one of these logs.
      for (const g of x.committedGaps) gaps.add(g);
      if (x.lastOp > latestOp) {
        latestOp = x.lastOp;
        latestIdx = x.replicaIdx;
      }
    }
    for (const g of gaps) check(g <= latestOp, `gap ${g} beyond the merged log (${latestOp})`);
    check(latestOp >= this.lastCommittedOp, `the merged log (${latestOp}) is shorter than what is committed (${this.lastCommittedOp})`);
    // Gaps at or below our base are committed slots, already in our snapshot.
    const gapList = sorted(gaps).filter((g) => g > this.logBase);
    this.startViewRecord = {
      lastNormalSessNum: latest.sessNum, lastNormalView: latest.view, lastOp: latestOp, committedGaps: gapList, gapsFrom: this.logBase,
    };
    if (latestOp > keep) {
      check(latestIdx >= 0, 'someone holds the longer log');
      const candidates = holders.filter((x) => x.lastOp >= latestOp && x.replicaIdx !== latestIdx).map((x) => x.replicaIdx);
      this.startStateTransfer(ctx, {
        begin: keep + 1, end: latestOp, replicaIdx: latestIdx, purpose: 'enterView', candidates, install: { keep, gaps: gapList, staged: [] },
      });
    } else {
      this.installLog(ctx, latestOp, gapList, []);
      this.enterView(ctx, this.sessNum, this.view);
    }
  }

  /**
   * Replace the log, in one step, by slots 1..keep of the current one (or by `snapshot`, when the
   * source had truncated those asked for) followed by `staged`, with every slot in `gaps` a
   * NO-OP. What was executed and is no longer in the log is rolled back first.
   */
  private installLog(ctx: C, keep: number, gaps: readonly number[], staged: readonly LogEntry[], snapshot?: Snapshot): void {
    check(keep >= this.lastCommittedOp, `installing a log that keeps ${keep} slots, below the commit point ${this.lastCommittedOp}`);
    if (snapshot !== undefined) {
      check(snapshot.slot > keep, `a staged snapshot at ${snapshot.slot} is beyond the kept slots (${keep})`);
      this.installSnapshot(ctx, snapshot);
      this.rewindLogTo(ctx, snapshot.slot);
    } else {
      this.rewindLogTo(ctx, keep);
    }
    this.committedGaps = new Set(gaps.filter((g) => g > this.logBase));
    for (const g of this.committedGaps) {
      if (g <= this.lastOp && this.entry(g)!.state !== 'noop') this.setNoop(g);
    }
    for (const e of staged) {
      check(e.opNum === this.lastOp + 1, `installing entry ${e.opNum} after ${this.lastOp}`);
      this.processNextOperation(ctx, e.request, e.view, e.sessNum, e.msgNum, e.state);
    }
  }

  private enterView(ctx: C, sessNum: number, view: number): void {
    check(sessNum >= this.sessNum && view >= this.view, 'entering a view never lowers the view-id');
    ctx.log.debug({ sessNum, view, lastOp: this.lastOp }, 'entering view');
    this.sessNum = sessNum;
    this.view = view;
    this.lastNormalSessNum = sessNum;
    this.lastNormalView = view;
    this.status = 'normal';
    this.clearTimeoutsAndQuorums(ctx);
    this.viewChangeAttempts = 0;
    // listen(session, msgNum): the next message of this session after the log's last entry.
    listen(this.receiver, sessNum, this.nextMsgNumAfterLog());
    for (const [idx, nonce] of this.recoveryRequests) if (idx !== this.idx) this.sendRecoveryResponse(ctx, idx, nonce);
    this.recoveryRequests.clear();
    if (this.amLeader()) {
      check(this.startViewRecord !== undefined && this.startViewRecord.lastOp === this.lastOp, 'the leader has the merged log');
      this.executeUpToOp(ctx, this.lastOp);
      ctx.startTimer('sync', this.t.syncMs, { type: 'SyncTimeout' }, { repeat: true });
      this.leaderLastSyncPreparePoint = this.lastOp;
      this.leaderLastSyncCommittedGaps = sorted(this.committedGaps);
      this.leaderLastSyncGapsFrom = this.logBase;
      this.sendStartView(ctx);
      if (this.f === 0) this.commitUpToOp(ctx, this.lastOp);
    } else {
      ctx.startTimer('leaderSyncHeard', this.t.leaderSyncHeardMs, { type: 'LeaderSyncHeardTimeout' });
      // The START-VIEW log is the leader's: as good as a SyncPrepare up to here.
      this.receivedSyncPreparePoints.add(this.lastOp);
      this.sendStartViewReply(ctx);
    }
  }

  private nextMsgNumAfterLog(): number {
    const last: Stamp | undefined = this.log[this.log.length - 1] ?? this.baseStamp;
    return last !== undefined && last.sessNum === this.sessNum ? last.msgNum + 1 : 1;
  }

  private startViewMessage(): StartView {
    const r = this.startViewRecord!;
    return {
      type: 'StartView', sessNum: this.sessNum, view: this.view, lastNormalSessNum: r.lastNormalSessNum,
      lastNormalView: r.lastNormalView, lastOp: r.lastOp, committedGaps: r.committedGaps, gapsFrom: r.gapsFrom,
    };
  }

  private sendStartView(ctx: C): void {
    check(this.amLeader(), 'START-VIEW is the leader\'s');
    this.broadcast(ctx, this.startViewMessage());
    ctx.startTimer('startView', this.t.startViewMs, { type: 'StartViewTimeout' });
  }

  private onStartViewTimeout(ctx: C): void {
    if (this.amLeader() && this.status !== 'viewChange') this.sendStartView(ctx);
  }

  private onStartView(msg: StartView, ctx: C): void {
    if (msg.sessNum < this.sessNum || msg.view < this.view) return; // an older (or incomparable) view
    const same = msg.sessNum === this.sessNum && msg.view === this.view;
    if (same && this.status !== 'viewChange') {
      // Already in this view: acknowledge again.
      this.sendStartViewReply(ctx);
      return;
    }
    // The guard of the TLA+ spec: a strictly higher view-id, or the same one while in ViewChange.
    check(!same || this.status === 'viewChange', 'START-VIEW guard');
    if (same && this.stateTransfer?.purpose === 'enterView') return; // already installing it
    check(this.leaderOf(msg.view) !== this.idx, 'a leader never receives its own START-VIEW');
    const msgNormal = { sessNum: msg.lastNormalSessNum, view: msg.lastNormalView };
    const mine = { sessNum: this.lastNormalSessNum, view: this.lastNormalView };
    check(msg.lastOp >= this.lastCommittedOp, `START-VIEW log (${msg.lastOp}) shorter than what is committed (${this.lastCommittedOp})`);
    const gaps = new Set(msg.committedGaps);
    let keep: number;
    if (!viewEq(mine, msgNormal)) {
      // My log is from another normal view than the merged one: an older one, or a later one
      // that only this replica entered (no other replica of the merge quorum did, so nothing
      // was committed in it beyond my commit point). Only the committed prefix is sure.
      keep = this.lastCommittedOp;
    } else {
      // Same normal view: my log agrees with the merged one up to its length, except for a
      // NO-OP the merged log does not have (a gap commit that did not complete): keep only
      // what is before it.
      keep = Math.min(this.lastOp, msg.lastOp);
      // Below the leader's log base its gap list is incomplete (startCatchUp): there, only our
      // committed prefix is sure, and the leader's snapshot replaces the rest.
      if (this.lastCommittedOp < msg.gapsFrom) keep = this.lastCommittedOp;
      for (let op = this.lastCommittedOp + 1; op <= keep; op++) {
        if (this.entry(op)!.state === 'noop' && !gaps.has(op)) {
          keep = op - 1;
          break;
        }
      }
    }
    this.sessNum = msg.sessNum;
    this.view = msg.view;
    this.status = 'viewChange';
    this.clearTimeoutsAndQuorums(ctx);
    if (msg.lastOp > keep) {
      // Keep the view change timer running: if the leader dies meanwhile, we move on.
      ctx.startTimer('viewChange', this.t.viewChangeMs, { type: 'ViewChangeTimeout' });
      this.startStateTransfer(ctx, {
        begin: keep + 1, end: msg.lastOp, replicaIdx: this.leaderOf(msg.view), purpose: 'enterView', candidates: [],
        install: { keep, gaps: msg.committedGaps, staged: [] },
      });
    } else {
      this.installLog(ctx, msg.lastOp, msg.committedGaps, []);
      this.enterView(ctx, msg.sessNum, msg.view);
    }
  }

  private sendStartViewReply(ctx: C): void {
    check(!this.amLeader() && (this.status === 'normal' || this.status === 'gapCommit'), 'START-VIEW-REPLY from a follower in the view');
    const reply: StartViewReply = { type: 'StartViewReply', sessNum: this.sessNum, view: this.view, replicaIdx: this.idx };
    this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, reply);
  }

  private onStartViewReply(msg: StartViewReply, ctx: C): void {
    if (msg.sessNum !== this.sessNum || msg.view !== this.view) return;
    if (!this.amLeader() || this.status === 'viewChange') return;
    if (!ctx.isTimerActive('startView')) return;
    this.startViewReplies.add(msg.replicaIdx);
    if (this.startViewReplies.size >= this.f) {
      // f+1 replicas have the merged log: it is committed.
      this.commitUpToOp(ctx, this.startViewRecord!.lastOp);
      ctx.cancelTimer('startView');
      this.startViewReplies.clear();
    }
  }

  private clearTimeoutsAndQuorums(ctx: C): void {
    // A sync point of the view left may never commit.
    this.pendingCheckpoint = undefined;
    for (const t of ['gapWait', 'gapRequest', 'gapCommit', 'viewChange', 'stateTransfer', 'startView', 'sync', 'leaderSyncHeard']) ctx.cancelTimer(t);
    this.gapReplies.clear();
    this.gapCommitReplies.clear();
    this.deferredGapCommits.clear();
    this.deferredGapRequests.clear();
    this.deferredGapRequestCount = 0;
    this.holes = [];
    this.viewChanges.clear();
    this.confirmedViewChanges.clear();
    this.startViewReplies.clear();
    this.syncPrepareReplies.clear();
    // Sync messages are accepted only in the current view: those of earlier views are void.
    this.receivedSyncPreparePoints.clear();
    this.receivedSyncCommitPoints.clear();
    this.stateTransfer = undefined;
  }

  /** Make sure every slot in `gaps` is a NO-OP: overwrite what the log has, remember the rest. */
  private installCommittedGaps(ctx: C, gaps: readonly number[]): void {
    for (const gap of gaps) {
      // At or below the log base a slot is committed (and, if a gap, a NO-OP here already).
      if (gap <= this.logBase || this.committedGaps.has(gap)) continue;
      this.committedGaps.add(gap);
      if (gap <= this.lastOp) {
        if (this.entry(gap)!.state !== 'noop') this.setNoop(gap);
      } else if (gap === this.lastOp + 1 && (this.status === 'normal' || this.status === 'gapCommit')) {
        // The next slot of the current session: its stamp is the one the receiver waits for.
        this.processNextOperation(ctx, undefined, this.view, this.sessNum, this.receiver.nextMsgNum, 'noop');
      }
      // Beyond that, the slot arrives later (OUM, or state transfer) and becomes a NO-OP then.
    }
  }

  /** Overwrite a slot with a NO-OP; roll the state machine back first if it executed it. */
  private setNoop(opNum: number): void {
    check(opNum > this.lastCommittedOp, `overwriting committed slot ${opNum} (committed up to ${this.lastCommittedOp})`);
    const e = this.entry(opNum)!;
    if (this.app.lastExecuted >= opNum) this.rollbackApp(opNum - 1);
    this.log[opNum - this.logBase - 1] = { opNum, view: e.view, sessNum: e.sessNum, msgNum: e.msgNum, state: 'noop' };
    this.logVersion++;
  }

  /**
   * Undo what was executed after `slot`. Only ever above the commit point (a leader's
   * speculative execution that a view change or a gap replaces), so never at or below the log
   * base: truncated slots are never rolled back.
   */
  private rollbackApp(slot: number): void {
    check(slot >= this.lastCommittedOp && slot >= this.logBase, `rollback to ${slot} below the commit point ${this.lastCommittedOp} (log base ${this.logBase})`);
    if (this.pendingCheckpoint !== undefined && slot < this.pendingCheckpoint.slot) this.pendingCheckpoint = undefined;
    this.app.rollbackTo(slot);
    this.stats.rollbacks++;
  }

  /** Drop every slot after `opNum` (never a committed one); roll back what was executed. */
  private rewindLogTo(_ctx: C, opNum: number): void {
    check(opNum >= this.lastCommittedOp, `rewinding to ${opNum} below the commit point ${this.lastCommittedOp}`);
    if (opNum >= this.lastOp) return;
    if (this.app.lastExecuted > opNum) this.rollbackApp(opNum);
    this.log.length = opNum - this.logBase;
    this.logVersion++;
  }

  // ---- synchronization ---------------------------------------------------------------------

  private onSyncTimeout(ctx: C): void {
    if (!this.amLeader() || this.status === 'viewChange') return;
    this.stats.syncs++;
    this.leaderLastSyncPreparePoint = this.lastOp;
    this.leaderLastSyncCommittedGaps = sorted(this.committedGaps);
    this.leaderLastSyncGapsFrom = this.logBase;
    this.prepareCheckpoint(ctx);
    this.syncPrepareReplies.clear();
    this.broadcast(ctx, this.syncPrepareMessage());
    if (this.f === 0) this.commitUpToOp(ctx, this.lastOp);
  }

  private syncPrepareMessage(): SyncPrepare {
    return {
      type: 'SyncPrepare', sessNum: this.sessNum, view: this.view,
      lastOp: this.leaderLastSyncPreparePoint, committedGaps: this.leaderLastSyncCommittedGaps, gapsFrom: this.leaderLastSyncGapsFrom,
    };
  }

  private onSyncPrepare(msg: SyncPrepare, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    check(!this.amLeader(), 'the leader never receives its own SyncPrepare');
    ctx.startTimer('leaderSyncHeard', this.t.leaderSyncHeardMs, { type: 'LeaderSyncHeardTimeout' });
    if (this.lastCommittedOp >= msg.lastOp) return;
    if (this.lastCommittedOp < msg.gapsFrom) {
      // The leader truncated past our commit point: its gap list no longer names the NO-OPs
      // there, which our uncommitted slots may lack. Take its snapshot first, then ask again.
      if (this.stateTransfer === undefined) this.startCatchUp(ctx, this.leaderOf(this.view), msg.gapsFrom, 'sync', []);
      return;
    }
    this.receivedSyncPreparePoints.add(msg.lastOp);
    // Same view as the leader: its gaps are a superset of ours; install them.
    this.installCommittedGaps(ctx, msg.committedGaps);
    if (this.lastOp < msg.lastOp) {
      if (this.stateTransfer === undefined) {
        this.startStateTransfer(ctx, {
          begin: this.lastOp + 1, end: msg.lastOp, replicaIdx: this.leaderOf(this.view), purpose: 'sync', syncPoint: msg.lastOp, candidates: [],
        });
      }
    } else {
      this.processSyncPrepare(ctx, msg.lastOp);
    }
  }

  private processSyncPrepare(ctx: C, syncPoint: number): void {
    if (this.status !== 'normal' && this.status !== 'gapCommit') return;
    if (this.amLeader() || syncPoint <= this.lastCommittedOp) return;
    check(this.lastOp >= syncPoint, 'the log reaches the sync point');
    if (this.receivedSyncCommitPoints.has(syncPoint)) {
      this.commitUpToOp(ctx, syncPoint);
      this.receivedSyncPreparePoints.delete(syncPoint);
      this.receivedSyncCommitPoints.delete(syncPoint);
    } else {
      const reply: SyncPrepareReply = { type: 'SyncPrepareReply', sessNum: this.sessNum, view: this.view, syncPoint, replicaIdx: this.idx };
      this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, reply);
    }
  }

  private onSyncPrepareReply(msg: SyncPrepareReply, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    if (!this.amLeader()) return;
    if (this.lastCommittedOp >= msg.syncPoint) {
      // Committed already (this replica came late, or missed the SyncCommit): tell it.
      const to = this.cfg.replicas[msg.replicaIdx];
      if (to !== undefined) this.send(ctx, to, { type: 'SyncCommit', sessNum: this.sessNum, view: this.view, syncPoint: msg.syncPoint });
      return;
    }
    if (msg.syncPoint !== this.leaderLastSyncPreparePoint) return;
    this.syncPrepareReplies.add(msg.replicaIdx);
    if (this.syncPrepareReplies.size >= this.f) {
      this.syncPrepareReplies.clear();
      this.commitUpToOp(ctx, msg.syncPoint);
    }
  }

  private sendSyncCommit(ctx: C): void {
    this.broadcast(ctx, { type: 'SyncCommit', sessNum: this.sessNum, view: this.view, syncPoint: this.lastCommittedOp });
  }

  private onSyncCommit(msg: SyncCommit, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    check(!this.amLeader(), 'the leader never receives its own SyncCommit');
    if (this.lastCommittedOp >= msg.syncPoint) return;
    this.receivedSyncCommitPoints.add(msg.syncPoint);
    if (this.receivedSyncPreparePoints.has(msg.syncPoint)) {
      // We hold the leader's gaps up to the point; commit once the operations are here too.
      if (this.lastOp >= msg.syncPoint) {
        this.commitUpToOp(ctx, msg.syncPoint);
        this.receivedSyncPreparePoints.delete(msg.syncPoint);
        this.receivedSyncCommitPoints.delete(msg.syncPoint);
      }
    } else {
      const req: SyncPrepareRequest = { type: 'SyncPrepareRequest', sessNum: this.sessNum, view: this.view, replicaIdx: this.idx };
      this.send(ctx, this.cfg.replicas[this.leaderOf(this.view)]!, req);
    }
  }

  private onSyncPrepareRequest(msg: SyncPrepareRequest, ctx: C): void {
    if (!this.checkViewNumAndStatus(ctx, msg.sessNum, msg.view)) return;
    if (!this.amLeader()) return;
    const to = this.cfg.replicas[msg.replicaIdx];
    if (to === undefined) return;
    this.send(ctx, to, this.syncPrepareMessage());
    if (this.lastCommittedOp >= this.leaderLastSyncPreparePoint) {
      this.send(ctx, to, { type: 'SyncCommit', sessNum: this.sessNum, view: this.view, syncPoint: this.leaderLastSyncPreparePoint });
    }
  }

  private onLeaderSyncHeardTimeout(ctx: C): void {
    if (this.status === 'normal' && !this.amLeader()) this.startViewChange(ctx, this.sessNum, this.view + 1);
  }

  // ---- checkpoints and log truncation ----------------------------------------------------------

  /**
   * The leader executes what it appends, so at a sync point its state is the state after that
   * point: keep it, to become the checkpoint if the point commits in this view (commitUpToOp)
   * with nothing at or below it rolled back meanwhile (rollbackApp).
   */
  private prepareCheckpoint(ctx: C): void {
    const point = this.leaderLastSyncPreparePoint;
    if (point - (this.checkpoint?.slot ?? 0) < this.checkpointEvery) return;
    this.executeUpToOp(ctx, point); // NO-OPs at the end are passed only when a later slot executes
    if (this.app.lastExecuted === point) this.pendingCheckpoint = this.takeSnapshot(point);
  }

  /**
   * After every message: a replica whose state is exactly its commit point (a follower once it
   * has executed what a sync committed; an idle leader) keeps that state as its checkpoint; then
   * it truncates what the checkpoint covers, of what was committed before this message: so every
   * slot committed from the log stays in it for one step at least, where the invariant checks
   * (run after every step in sim) compare it with the other replicas'.
   */
  private checkpointAndTruncate(committedBefore: number): void {
    if (this.status === 'recovering') return;
    const commit = this.lastCommittedOp;
    if (this.app.lastExecuted === commit && commit - (this.checkpoint?.slot ?? 0) >= this.checkpointEvery) this.checkpoint = this.takeSnapshot(commit);
    this.truncateLog(committedBefore);
  }

  private takeSnapshot(slot: number): Snapshot {
    const s: Stamp | undefined = this.entry(slot) ?? (slot === this.logBase ? this.baseStamp : undefined);
    check(s !== undefined, `the stamp of slot ${slot}`);
    return { slot, view: s.view, sessNum: s.sessNum, msgNum: s.msgNum, app: this.app.snapshot() };
  }

  /**
   * Discard the log up to min(checkpoint, commit point - logTail). Safe because every slot
   * discarded is committed (at f+1 replicas, the same at every replica that commits it, and part
   * of every later view's log), executed here and never rolled back (rollback happens only above
   * the commit point), and the checkpoint, at or above the new base, stands for all of them:
   * a replica that asks for a slot at or below the base gets the checkpoint and the entries
   * after it (sendSnapshot). The client table is in the checkpoint, so a retry of a request
   * executed in a discarded slot is still answered, not executed again. NO-OPs at or below the
   * base leave the gap list; messages that carry it say from where it is complete (gapsFrom).
   * The tail keeps recent slots for GapRequests and for replicas a little behind.
   */
  private truncateLog(committedBefore: number): void {
    const cp = this.checkpoint;
    if (cp === undefined) return;
    const to = Math.min(cp.slot, committedBefore - this.logTail, this.app.stableUpTo);
    if (!(to > this.logBase)) return;
    const last = this.entry(to)!;
    this.baseStamp = { view: last.view, sessNum: last.sessNum, msgNum: last.msgNum };
    this.log.splice(0, to - this.logBase);
    this.logBase = to;
    this.app.truncate(to);
    for (const g of this.committedGaps) if (g <= to) this.committedGaps.delete(g);
    this.stats.truncations++;
  }

  // ---- recovery ------------------------------------------------------------------------------

  private startRecovery(ctx: C): void {
    this.status = 'recovering';
    this.silent = true;
    this.stateTransfer = undefined;
    ctx.cancelTimer('stateTransfer');
    // A fresh nonce per attempt: only answers to this attempt count.
    const nonce = Math.floor(ctx.random() * 2 ** 31);
    this.recovery = { nonce, responses: new Map() };
    this.stats.recoveries++;
    this.broadcast(ctx, { type: 'Recovery', replicaIdx: this.idx, nonce });
    ctx.startTimer('recovery', this.t.recoveryMs, { type: 'RecoveryTimeout' });
  }

  private onRecoveryTimeout(ctx: C): void {
    if (this.status !== 'recovering') return;
    // Start over: the leader we copy from may have moved on, or answers were lost.
    this.clearLogForRecovery();
    this.startRecovery(ctx);
  }

  private onRecovery(msg: Recovery, ctx: C): void {
    if (msg.replicaIdx === this.idx || this.cfg.replicas[msg.replicaIdx] === undefined) return;
    if (this.status === 'normal' || this.status === 'gapCommit') {
      if (this.leaderOf(this.view) !== msg.replicaIdx) return this.sendRecoveryResponse(ctx, msg.replicaIdx, msg.nonce);
      // Our leader lost its state: it cannot lead this view any more.
      this.startViewChange(ctx, this.sessNum, this.view + 1);
    }
    // Only a replica in Normal status answers (as in VR): answer when the view change ends.
    if (this.recoveryRequests.size < this.n) this.recoveryRequests.set(msg.replicaIdx, msg.nonce);
  }

  private sendRecoveryResponse(ctx: C, to: number, nonce: number): void {
    const resp: RecoveryResponse = {
      type: 'RecoveryResponse', sessNum: this.sessNum, view: this.view, nonce, replicaIdx: this.idx,
      lastOp: this.lastOp, lastCommittedOp: this.lastCommittedOp, committedGaps: this.amLeader() ? sorted(this.committedGaps) : [],
      reservedSession: this.highestSession(),
    };
    this.send(ctx, this.cfg.replicas[to]!, resp);
  }

  private onRecoveryResponse(msg: RecoveryResponse, ctx: C): void {
    const rec = this.recovery;
    if (this.status !== 'recovering' || rec === undefined || msg.nonce !== rec.nonce || this.stateTransfer !== undefined) return;
    rec.responses.set(msg.replicaIdx, msg);
    if (rec.responses.size < this.f + 1) return;
    // f+1 answers meet every majority that took a reservation (the controller's only memory).
    for (const r of rec.responses.values()) this.reservedSession = Math.max(this.reservedSession, r.reservedSession);
    let latest: RecoveryResponse | undefined;
    for (const r of rec.responses.values()) {
      if (latest === undefined || viewLt({ sessNum: latest.sessNum, view: latest.view }, { sessNum: r.sessNum, view: r.view })) latest = r;
    }
    const leaderIdx = this.leaderOf(latest!.view);
    const leader = rec.responses.get(leaderIdx);
    if (leader === undefined || leader.sessNum !== latest!.sessNum || leader.view !== latest!.view) return;
    // Adopt the leader's view and copy its log.
    this.sessNum = leader.sessNum;
    this.view = leader.view;
    this.lastNormalSessNum = leader.sessNum;
    this.lastNormalView = leader.view;
    this.clearLogForRecovery();
    this.committedGaps = new Set(leader.committedGaps.filter((g) => g > this.logBase));
    this.recoveryCommitPoint = leader.lastCommittedOp;
    if (leader.lastOp <= this.lastOp) return this.finishRecovery(ctx);
    // From slot 1, or after a snapshot an earlier attempt installed; the leader sends its own
    // snapshot in place of what it truncated.
    this.startStateTransfer(ctx, { begin: this.lastOp + 1, end: leader.lastOp, replicaIdx: leaderIdx, purpose: 'recovery', candidates: [] });
  }

  /** The highest session reserved here or in use by this replica's view. */
  private highestSession(): number {
    return Math.max(this.reservedSession, this.sessNum);
  }

  private onSessionReserve(msg: SessionReserve, ctx: C): void {
    // A recovering replica has lost its reservations: it must not answer for them (it is not in
    // RECOVERING_ACCEPTS) until its recovery has taken the others'.
    this.reservedSession = Math.max(this.reservedSession, msg.sessionNum);
    this.send(ctx, msg.replyTo, { type: 'SessionReserved', asked: msg.sessionNum, keeper: msg.keeper, highest: this.highestSession() });
  }

  /**
   * Nothing is committed while recovering but a snapshot an earlier attempt installed (committed
   * state, which every later log extends): the log after it, and what was executed from it,
   * start over.
   */
  private clearLogForRecovery(): void {
    check(this.lastCommittedOp === this.logBase, 'a recovering replica has committed nothing but a snapshot');
    if (this.app.lastExecuted > this.lastCommittedOp) this.rollbackApp(this.lastCommittedOp);
    this.log = [];
    this.logVersion++;
    this.committedGaps = new Set();
  }

  private finishRecovery(ctx: C): void {
    check(this.status === 'recovering', 'finishing a recovery');
    ctx.log.info({ sessNum: this.sessNum, view: this.view, lastOp: this.lastOp }, 'recovered');
    ctx.cancelTimer('recovery');
    this.recovery = undefined;
    this.silent = false;
    this.status = 'normal';
    listen(this.receiver, this.sessNum, this.nextMsgNumAfterLog());
    // What the leader had committed is committed: execute it.
    this.commitUpToOp(ctx, Math.min(this.recoveryCommitPoint, this.lastOp));
    // The copied log is the leader's in this view: as good as a SyncPrepare up to here.
    this.receivedSyncPreparePoints.add(this.lastOp);
    if (this.amLeader()) {
      // Cannot happen: the leader of the adopted view answered, so it is another replica.
      check(false, 'a recovered replica is not the leader of the view it adopted');
    }
    ctx.startTimer('leaderSyncHeard', this.t.leaderSyncHeardMs, { type: 'LeaderSyncHeardTimeout' });
  }

  // ---- sending -----------------------------------------------------------------------------

  private send<T extends { type: string }>(ctx: C, to: ActorRef<T>, msg: T): void {
    this.meter.send();
    ctx.send(to, msg);
  }

  /** To every other replica. */
  private broadcast(ctx: C, msg: ReplicaMsg): void {
    for (let i = 0; i < this.n; i++) if (i !== this.idx) this.send(ctx, this.cfg.replicas[i]!, msg);
  }
}

/** What a recovering replica listens to (requests are kept for after it recovers). */
const RECOVERING_ACCEPTS = new Set<ReplicaMsg['type']>(['Request', 'RecoveryResponse', 'StateTransferReply', 'StateTransferTimeout', 'RecoveryTimeout']);

export function nopaxosReplica(cfg: ReplicaConfig): Behavior<NopaxosReplica, ReplicaMsg> {
  const meter = new ServiceMeter(cfg.costs ?? DEFAULT_SERVICE_COSTS);
  return behavior<NopaxosReplica, ReplicaMsg>({
    init: (ctx) => {
      meter.take();
      return new NopaxosReplica(cfg, meter, ctx);
    },
    receive: (state, msg, ctx) => {
      state.handle(msg, ctx);
      return state;
    },
    serviceTimeMs: () => meter.take(),
    mailbox: { capacity: 100_000, overflow: 'dropNewest' },
    // A failed invariant is a bug: stop the replica rather than restart it with a fresh state,
    // which would look like a recovery without one.
    supervision: { strategy: 'stop' },
  });
}

// ---- view-ids ----------------------------------------------------------------------------------

interface ViewId {
  readonly sessNum: number;
  readonly view: number;
}

/** View-ids are ordered part-wise: v1 <= v2 only if both parts are <=. */
export function viewLe(a: ViewId, b: ViewId): boolean {
  return a.sessNum <= b.sessNum && a.view <= b.view;
}

export function viewLt(a: ViewId, b: ViewId): boolean {
  return viewLe(a, b) && !viewEq(a, b);
}

export function viewEq(a: ViewId, b: ViewId): boolean {
  return a.sessNum === b.sessNum && a.view === b.view;
}

function fmt(v: ViewId): string {
  return `(${v.view},${v.sessNum})`;
}

function sorted(s: ReadonlySet<number>): number[] {
  return [...s].sort((a, b) => a - b);
}

function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`NOPaxos invariant: ${what}`);
}
