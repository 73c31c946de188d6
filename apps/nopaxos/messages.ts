// Messages of NOPaxos (OSDI 2016), named and shaped as in the reference code
// (UWSysLab/NOPaxos, nopaxos/nopaxos-proto.proto): `view` is the leader number, `sessNum` the
// OUM session, the two together the view-id; `opNum` a log slot. Each message that asks for an
// answer carries its sender's `replicaIdx` (the reference learns it from the transport).
// Recovery and RecoveryResponse are Viewstamped Replication's (the reference has none).
import { Type, type TSchema } from '@sinclair/typebox';
import type { ActorRef } from '../../actors/index.ts';
import { KvOpSchema, KvResultSchema, MAX_KEY_BYTES, type KvOp, type KvResult } from '../kv/kv.ts';
import type { ClientStart, Invoke, ThinkTimeout } from '../kv/driver.ts';
import type { AppSnapshot } from '../kv/state-machine.ts';
import { OumHeaderSchema, RefSchema, type OumHeader, type OumPong, type OumRoute, type OumRouteAck } from '../oum/messages.ts';

// ---- client <-> replicas -------------------------------------------------------------------

/** A client request, multicast through the OUM sequencer (which stamps `oum`). */
export interface Request {
  readonly type: 'Request';
  readonly oum: OumHeader;
  readonly op: KvOp;
  readonly clientId: string;
  readonly clientReqId: number;
  /** Where replies go. */
  readonly client: ActorRef<Reply>;
}

/** Every replica answers; only the leader's reply carries the result. */
export interface Reply {
  readonly type: 'Reply';
  readonly view: number;
  readonly sessNum: number;
  readonly opNum: number;
  readonly clientReqId: number;
  readonly replicaIdx: number;
  readonly result?: KvResult;
}

// ---- the log -------------------------------------------------------------------------------

export type LogEntryState = 'received' | 'noop';

export interface LogEntry {
  readonly opNum: number;
  /** The view-id and OUM stamp the entry got its slot under. */
  readonly view: number;
  readonly sessNum: number;
  readonly msgNum: number;
  readonly state: LogEntryState;
  /** The request, for a 'received' entry. */
  readonly request?: Request;
}

/**
 * The application state after slot `slot` (committed), and the stamp that slot got: what a
 * replica keeps in place of the log entries it truncated, and sends to a replica that needs
 * entries it no longer has.
 */
export interface Snapshot {
  readonly slot: number;
  readonly view: number;
  readonly sessNum: number;
  readonly msgNum: number;
  readonly app: AppSnapshot;
}

// ---- gap agreement -------------------------------------------------------------------------

export interface GapRequest {
  readonly type: 'GapRequest';
  readonly view: number;
  readonly sessNum: number;
  readonly opNum: number;
  readonly replicaIdx: number;
}

export interface GapReply {
  readonly type: 'GapReply';
  readonly view: number;
  readonly sessNum: number;
  readonly opNum: number;
  readonly isFound: boolean;
  readonly isGap: boolean;
  readonly replicaIdx: number;
  readonly request?: Request;
}

export interface GapCommit {
  readonly type: 'GapCommit';
  readonly sessNum: number;
  readonly view: number;
  readonly opNum: number;
}

export interface GapCommitReply {
  readonly type: 'GapCommitReply';
  readonly sessNum: number;
  readonly view: number;
  readonly opNum: number;
  readonly replicaIdx: number;
}

// ---- state transfer ------------------------------------------------------------------------

/** Ask for log entries begin..end-1. */
export interface StateTransferRequest {
  readonly type: 'StateTransferRequest';
  readonly sessNum: number;
  readonly view: number;
  readonly begin: number;
  readonly end: number;
  readonly replicaIdx: number;
}

export interface StateTransferReply {
  readonly type: 'StateTransferReply';
  readonly sessNum: number;
  readonly view: number;
  readonly begin: number;
  readonly end: number;
  readonly entries: readonly LogEntry[];
  /**
   * When the request began at or below the sender's log base (entries it truncated): its
   * snapshot, at `begin - 1`, in their place; `entries` then follow the snapshot. A snapshot of
   * more items (keys and clients) than a reply carries entries comes in `parts` replies sent at
   * once, part `part` each holding a slice of the items, and no entries.
   */
  readonly snapshot?: Snapshot;
  readonly part?: number;
  readonly parts?: number;
}

// ---- view change ---------------------------------------------------------------------------

export interface ViewChangeRequest {
  readonly type: 'ViewChangeRequest';
  readonly sessNum: number;
  readonly view: number;
}

export interface ViewChange {
  readonly type: 'ViewChange';
  readonly sessNum: number;
  readonly view: number;
  readonly lastNormalSessNum: number;
  readonly lastNormalView: number;
  readonly lastOp: number;
  readonly committedGaps: readonly number[];
  /** `committedGaps` lists every NO-OP above this slot (the sender's log base); those below were truncated. */
  readonly gapsFrom: number;
  readonly replicaIdx: number;
  /** The sender's life (its host's incarnation): the new leader counts the vote only once that life confirms it (ViewChangeConfirm). */
  readonly incarnation: number;
}

/**
 * The new leader asks a replica whose ViewChange it would count whether it is still the life
 * that sent it. A replica keeps no disk: one that crashed and recovered has forgotten that it
 * voted to leave the old view, and may have acted in it since (its vote, still on the way, would
 * lose what it acknowledged there). It answers only for its own incarnation.
 */
export interface ViewChangeConfirm {
  readonly type: 'ViewChangeConfirm';
  readonly sessNum: number;
  readonly view: number;
  readonly incarnation: number;
  readonly replicaIdx: number;
}

export interface ViewChangeConfirmed {
  readonly type: 'ViewChangeConfirmed';
  readonly sessNum: number;
  readonly view: number;
  readonly incarnation: number;
  readonly replicaIdx: number;
}

export interface StartView {
  readonly type: 'StartView';
  readonly sessNum: number;
  readonly view: number;
  readonly lastNormalSessNum: number;
  readonly lastNormalView: number;
  readonly lastOp: number;
  readonly committedGaps: readonly number[];
  /** As in ViewChange: the gaps are complete above this slot. */
  readonly gapsFrom: number;
}

export interface StartViewReply {
  readonly type: 'StartViewReply';
  readonly sessNum: number;
  readonly view: number;
  readonly replicaIdx: number;
}

// ---- synchronization -----------------------------------------------------------------------

export interface SyncPrepareRequest {
  readonly type: 'SyncPrepareRequest';
  readonly sessNum: number;
  readonly view: number;
  readonly replicaIdx: number;
}

export interface SyncPrepare {
  readonly type: 'SyncPrepare';
  readonly sessNum: number;
  readonly view: number;
  readonly lastOp: number;
  readonly committedGaps: readonly number[];
  /** As in ViewChange: the gaps are complete above this slot (the leader's log base). */
  readonly gapsFrom: number;
}

export interface SyncPrepareReply {
  readonly type: 'SyncPrepareReply';
  readonly sessNum: number;
  readonly view: number;
  readonly syncPoint: number;
  readonly replicaIdx: number;
}

export interface SyncCommit {
  readonly type: 'SyncCommit';
  readonly sessNum: number;
  readonly view: number;
  readonly syncPoint: number;
}

// ---- recovery (Viewstamped Replication, with a nonce) --------------------------------------

/** From a replica that restarted with no state: it may not take part until it recovers. */
export interface Recovery {
  readonly type: 'Recovery';
  readonly replicaIdx: number;
  readonly nonce: number;
}

export interface RecoveryResponse {
  readonly type: 'RecoveryResponse';
  readonly sessNum: number;
  readonly view: number;
  readonly nonce: number;
  readonly replicaIdx: number;
  /** The responder's log length, commit point and gaps (the recovering replica uses the leader's). */
  readonly lastOp: number;
  readonly lastCommittedOp: number;
  readonly committedGaps: readonly number[];
  /** The highest session the responder knows reserved (the recovering replica takes the highest). */
  readonly reservedSession: number;
}

// ---- the controller's session reservations (not in the reference: see controller.ts) -------

/**
 * From the controller to a replica: keep `sessionNum` as reserved (-1: only tell the highest).
 * A replica answers unless it is recovering (it has lost its reservations until it recovers).
 */
export interface SessionReserve {
  readonly type: 'SessionReserve';
  readonly sessionNum: number;
  /** The replica's index among the controller's keepers, echoed. */
  readonly keeper: number;
  readonly replyTo: ActorRef<SessionReserved>;
}

export interface SessionReserved {
  readonly type: 'SessionReserved';
  /** The sessionNum of the SessionReserve answered. */
  readonly asked: number;
  readonly keeper: number;
  /** The highest session the replica knows reserved or in use. */
  readonly highest: number;
}

// ---- timers (a replica's own) --------------------------------------------------------------

export interface GapWaitTimeout { readonly type: 'GapWaitTimeout' }
export interface GapRequestTimeout { readonly type: 'GapRequestTimeout' }
export interface GapCommitTimeout { readonly type: 'GapCommitTimeout' }
export interface ViewChangeTimeout { readonly type: 'ViewChangeTimeout' }
export interface StateTransferTimeout { readonly type: 'StateTransferTimeout' }
export interface StartViewTimeout { readonly type: 'StartViewTimeout' }
export interface SyncTimeout { readonly type: 'SyncTimeout' }
export interface LeaderSyncHeardTimeout { readonly type: 'LeaderSyncHeardTimeout' }
export interface RecoveryTimeout { readonly type: 'RecoveryTimeout' }
/** A follower's next chunk of committed operations to execute. */
export interface ExecuteTimeout { readonly type: 'ExecuteTimeout' }

export type ReplicaTimer =
  | GapWaitTimeout | GapRequestTimeout | GapCommitTimeout | ViewChangeTimeout | StateTransferTimeout
  | StartViewTimeout | SyncTimeout | LeaderSyncHeardTimeout | RecoveryTimeout | ExecuteTimeout;

export type ReplicaMsg =
  | Request | GapRequest | GapReply | GapCommit | GapCommitReply
  | StateTransferRequest | StateTransferReply
  | ViewChangeRequest | ViewChange | ViewChangeConfirm | ViewChangeConfirmed | StartView | StartViewReply
  | SyncPrepareRequest | SyncPrepare | SyncPrepareReply | SyncCommit
  | Recovery | RecoveryResponse | SessionReserve
  | ReplicaTimer;

// ---- client --------------------------------------------------------------------------------

export interface RequestTimeout { readonly type: 'RequestTimeout' }

export type ClientMsg = ClientStart | Invoke | ThinkTimeout | Reply | RequestTimeout | OumRoute;

// ---- controller ----------------------------------------------------------------------------

/** The controller's probe tick. */
export interface ProbeTimeout { readonly type: 'ProbeTimeout' }
/** Start a new session on the active sequencer (as the reference simulator's SessionChange()). */
export interface SessionChange { readonly type: 'SessionChange' }
/** Move the group to the next sequencer now, as if the active one had failed. */
export interface Failover { readonly type: 'Failover' }

export type ControllerMsg = ProbeTimeout | SessionChange | Failover | OumPong | OumRouteAck | SessionReserved;

// ---- schemas of what crosses hosts ---------------------------------------------------------

/** Bounds on bulk fields: a state transfer reply carries at most this many entries. */
export const MAX_TRANSFER_OPS = 1000;
export const MAX_GAPS_PER_MESSAGE = 100_000;
/** Keys and clients a snapshot may carry. */
export const MAX_SNAPSHOT_KEYS = 1_000_000;
export const MAX_SNAPSHOT_CLIENTS = 1_000_000;

const Nat = Type.Integer({ minimum: 0 });
const Gaps = Type.Array(Nat, { maxItems: MAX_GAPS_PER_MESSAGE });

const RequestSchema = Type.Object({
  type: Type.Literal('Request'), oum: OumHeaderSchema, op: KvOpSchema,
  clientId: Type.String({ minLength: 1, maxLength: 256 }), clientReqId: Type.Integer({ minimum: 1 }), client: RefSchema,
});

const LogEntrySchema = Type.Object({
  opNum: Type.Integer({ minimum: 1 }), view: Nat, sessNum: Nat, msgNum: Nat,
  state: Type.Union([Type.Literal('received'), Type.Literal('noop')]),
  request: Type.Optional(RequestSchema),
});

const SnapshotSchema = Type.Object({
  slot: Type.Integer({ minimum: 1 }), view: Nat, sessNum: Nat, msgNum: Nat,
  app: Type.Object({
    data: Type.Array(Type.Tuple([Type.String({ maxLength: MAX_KEY_BYTES }), Type.String()]), { maxItems: MAX_SNAPSHOT_KEYS }),
    clients: Type.Array(Type.Tuple([
      Type.String({ minLength: 1, maxLength: 256 }), Type.Object({ reqId: Type.Integer({ minimum: 1 }), result: KvResultSchema }),
    ]), { maxItems: MAX_SNAPSHOT_CLIENTS }),
  }),
});

function msg(type: string, fields: Record<string, TSchema>): TSchema {
  return Type.Object({ type: Type.Literal(type), ...fields });
}

export const nopaxosSchemas: Record<string, TSchema> = {
  Request: RequestSchema,
  Reply: msg('Reply', { view: Nat, sessNum: Nat, opNum: Nat, clientReqId: Nat, replicaIdx: Nat, result: Type.Optional(KvResultSchema) }),
  GapRequest: msg('GapRequest', { view: Nat, sessNum: Nat, opNum: Nat, replicaIdx: Nat }),
  GapReply: msg('GapReply', {
    view: Nat, sessNum: Nat, opNum: Nat, isFound: Type.Boolean(), isGap: Type.Boolean(), replicaIdx: Nat, request: Type.Optional(RequestSchema),
  }),
  GapCommit: msg('GapCommit', { sessNum: Nat, view: Nat, opNum: Nat }),
  GapCommitReply: msg('GapCommitReply', { sessNum: Nat, view: Nat, opNum: Nat, replicaIdx: Nat }),
  StateTransferRequest: msg('StateTransferRequest', { sessNum: Nat, view: Nat, begin: Nat, end: Nat, replicaIdx: Nat }),
  StateTransferReply: msg('StateTransferReply', {
    sessNum: Nat, view: Nat, begin: Nat, end: Nat, entries: Type.Array(LogEntrySchema, { maxItems: MAX_TRANSFER_OPS }),
    snapshot: Type.Optional(SnapshotSchema), part: Type.Optional(Nat), parts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SNAPSHOT_KEYS })),
  }),
  ViewChangeRequest: msg('ViewChangeRequest', { sessNum: Nat, view: Nat }),
  ViewChange: msg('ViewChange', {
    sessNum: Nat, view: Nat, lastNormalSessNum: Nat, lastNormalView: Nat, lastOp: Nat, committedGaps: Gaps, gapsFrom: Nat, replicaIdx: Nat, incarnation: Nat,
  }),
  ViewChangeConfirm: msg('ViewChangeConfirm', { sessNum: Nat, view: Nat, incarnation: Nat, replicaIdx: Nat }),
  ViewChangeConfirmed: msg('ViewChangeConfirmed', { sessNum: Nat, view: Nat, incarnation: Nat, replicaIdx: Nat }),
  StartView: msg('StartView', {
    sessNum: Nat, view: Nat, lastNormalSessNum: Nat, lastNormalView: Nat, lastOp: Nat, committedGaps: Gaps, gapsFrom: Nat,
  }),
  StartViewReply: msg('StartViewReply', { sessNum: Nat, view: Nat, replicaIdx: Nat }),
  SyncPrepareRequest: msg('SyncPrepareRequest', { sessNum: Nat, view: Nat, replicaIdx: Nat }),
  SyncPrepare: msg('SyncPrepare', { sessNum: Nat, view: Nat, lastOp: Nat, committedGaps: Gaps, gapsFrom: Nat }),
  SyncPrepareReply: msg('SyncPrepareReply', { sessNum: Nat, view: Nat, syncPoint: Nat, replicaIdx: Nat }),
  SyncCommit: msg('SyncCommit', { sessNum: Nat, view: Nat, syncPoint: Nat }),
  Recovery: msg('Recovery', { replicaIdx: Nat, nonce: Nat }),
  RecoveryResponse: msg('RecoveryResponse', {
    sessNum: Nat, view: Nat, nonce: Nat, replicaIdx: Nat, lastOp: Nat, lastCommittedOp: Nat, committedGaps: Gaps, reservedSession: Nat,
  }),
  SessionReserve: msg('SessionReserve', { sessionNum: Type.Integer({ minimum: -1 }), keeper: Nat, replyTo: RefSchema }),
  SessionReserved: msg('SessionReserved', { asked: Type.Integer({ minimum: -1 }), keeper: Nat, highest: Nat }),
};
