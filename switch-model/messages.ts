// Messages of the switch model. Public: the control plane's requests and replies (controllers
// may live on other hosts, so these have schemas), packet-in/out, and the Frame that L2/L3
// programs forward. Internal: what the switch's own actors pass among themselves on the switch
// host (packets never leave it as packets).
import { Type, type TSchema } from '@sinclair/typebox';
import type { ActorRef, Msg } from '../actors/index.ts';
import type { Packet } from './packet.ts';
import type { MatchField } from './table.ts';

// ---- frames: what L2/L3 forwarding moves ---------------------------------------------------

/**
 * An Ethernet frame, optionally carrying IPv4: the destination drives the forwarding tables.
 * MACs are 48-bit numbers, IPv4 addresses 32-bit numbers; the payload is any message.
 */
export interface Frame<P extends Msg = Msg> {
  readonly type: 'Frame';
  readonly ethSrc: number;
  readonly ethDst: number;
  readonly ipSrc?: number;
  readonly ipDst?: number;
  readonly ttl?: number;
  /** Bytes on the wire (headers and payload). */
  readonly sizeBytes: number;
  readonly payload: P;
}

export const BROADCAST_MAC = 0xffffffffffff;

// ---- the control plane ---------------------------------------------------------------------

export interface SwitchStats {
  /** Per front-panel port. */
  readonly rxPackets: number[];
  readonly txPackets: number[];
  readonly txBytes: number[];
  /** Tail drops per front-panel port (also in drops['tail-drop']). */
  readonly tailDrops: number[];
  /** Highest buffer occupancy seen per front-panel port, in bytes. */
  readonly maxQueueBytes: number[];
  /** Every drop, by reason ('parse-error', 'tail-drop', 'recirculation-limit', a program's own reasons...). */
  readonly drops: Record<string, number>;
  recirculated: number;
  toCpu: number;
  fromCpu: number;
  /** Rule violations and stage errors (the first few of each). */
  readonly violations: string[];
  readonly errors: string[];
  /** Why the program was rejected at run time, or null while it runs. */
  rejected: string | null;
}

interface Request {
  /** Echoed in the reply, to match replies with requests. */
  readonly id?: number;
  readonly replyTo: ActorRef<ControlReply>;
  /**
   * The boot of the switch this request is meant for (every reply says the switch's boot: the
   * incarnation of its host, 0 until it first restarts). A request for another boot is refused
   * with an error that starts with 'restarted': a request sent before a restart (a resend, or
   * one late on the way) never lands on the switch after it, whose tables and registers are
   * empty. On hardware a reboot ends the controller's P4Runtime stream, with the same effect.
   */
  readonly boot?: number;
}

/**
 * A write to a table or a register. With a `version` (the controller's own counter, growing with
 * each request), it is carried out only if no versioned write to the same entry or cell, nor a
 * clear or reset, with a higher version came before it; otherwise it is refused with an error
 * that starts with 'stale write': a late resend overtaken by a later write (versions.ts).
 */
interface Write extends Request {
  readonly version?: number;
}

export interface TableInsert extends Write {
  readonly type: 'TableInsert';
  readonly table: string;
  readonly match: readonly MatchField[];
  readonly action: string;
  readonly params?: Readonly<Record<string, number>>;
  /** Ternary tables only: higher wins. */
  readonly priority?: number;
}

export interface TableDelete extends Write {
  readonly type: 'TableDelete';
  readonly table: string;
  readonly match: readonly MatchField[];
  readonly priority?: number;
}

/** Remove every entry of a table (the default action stays). */
export interface TableClear extends Write {
  readonly type: 'TableClear';
  readonly table: string;
}

export interface TableSetDefault extends Write {
  readonly type: 'TableSetDefault';
  readonly table: string;
  readonly action: string;
  readonly params?: Readonly<Record<string, number>>;
}

export interface RegisterRead extends Request {
  readonly type: 'RegisterRead';
  readonly register: string;
  readonly index: number;
}

export interface RegisterWrite extends Write {
  readonly type: 'RegisterWrite';
  readonly register: string;
  readonly index: number;
  readonly value: number | bigint;
}

/** Every cell back to zero. */
export interface RegisterReset extends Write {
  readonly type: 'RegisterReset';
  readonly register: string;
}

export interface CounterRead extends Request {
  readonly type: 'CounterRead';
  readonly counter: string;
  readonly index: number;
}

/** Set the ports of multicast group `group` (1..65535); an empty list removes it. */
export interface MulticastGroupSet extends Request {
  readonly type: 'MulticastGroupSet';
  readonly group: number;
  readonly ports: readonly number[];
}

export interface StatsRead extends Request {
  readonly type: 'StatsRead';
}

/** Ask for PacketIn messages (clones to the CPU) to be sent to `subscriber`. */
export interface PacketInSubscribe {
  readonly type: 'PacketInSubscribe';
  readonly subscriber: ActorRef<PacketIn>;
}

/** Inject a message into the ingress pipeline as if it arrived on the CPU port. */
export interface PacketOut {
  readonly type: 'PacketOut';
  readonly msg: Msg;
}

export type ControlRequest =
  | TableInsert | TableDelete | TableClear | TableSetDefault | RegisterRead | RegisterWrite | RegisterReset | CounterRead
  | MulticastGroupSet | StatsRead | PacketInSubscribe | PacketOut;

/** The requests that take a `version` (Write). */
export type VersionedWrite = TableInsert | TableDelete | TableClear | TableSetDefault | RegisterWrite | RegisterReset;
const VERSIONED: ReadonlySet<string> = new Set<VersionedWrite['type']>(['TableInsert', 'TableDelete', 'TableClear', 'TableSetDefault', 'RegisterWrite', 'RegisterReset']);

/**
 * `req` with `version` if it is a write that takes one (Write), and, when given, meant for
 * switch boot `boot` (Request.boot; any request that takes a reply).
 */
export function versioned(req: ControlRequest, version: number, boot?: number): ControlRequest {
  const out = VERSIONED.has(req.type) ? { ...(req as VersionedWrite), version } : req;
  return boot === undefined || !('replyTo' in out) ? out : { ...out, boot };
}

/** Requests that carry a replyTo (all but PacketInSubscribe and PacketOut). */
export type ControlQuery = Extract<ControlRequest, { replyTo: unknown }>;

/** Every reply says which boot of the switch made it (Request.boot). */
export type ControlReply =
  | {
    readonly type: 'ControlReply'; readonly id?: number; readonly ok: true; readonly boot?: number;
    /** RegisterRead: the cell (a bigint for 64-bit cells). */
    readonly value?: number | bigint;
    /** CounterRead. */
    readonly packets?: number;
    readonly bytes?: number;
    /** StatsRead. */
    readonly stats?: SwitchStats;
  }
  | { readonly type: 'ControlReply'; readonly id?: number; readonly ok: false; readonly error: string; readonly boot?: number };

/** A clone to the CPU, delivered to the control plane's subscribers. */
export interface PacketIn {
  readonly type: 'PacketIn';
  /** `host/name` of the switch. */
  readonly switch: string;
  readonly ingressPort: number;
  readonly msg: Msg;
}

// ---- inside the switch ---------------------------------------------------------------------

/** A message received on a port (sent by the port's actor, or PacketOut from the CPU). */
export interface Rx {
  readonly type: 'Rx';
  readonly port: number;
  readonly msg: Msg;
  readonly atMs: number;
}

/** Real time: the traffic manager's timer, for a queue head due a millisecond or more from now. */
export interface QueueTimer {
  readonly type: 'QueueTimer';
}

/**
 * Fused mode in sim: packets the traffic manager handed on at one admission that leave at the
 * same time (the copies of a multicast; or one packet, for a program with egress stages), sent
 * by the pipeline to itself to arrive then: their egress stages run at that time, in the order
 * packets leave, and the copies go out together.
 */
export interface Departure {
  readonly type: 'Departure';
  readonly pkts: AnyPacket[];
}

/** Real time: look again whether a queue's head is due (sent by the traffic manager to itself). */
export interface QueuePoll {
  readonly type: 'QueuePoll';
}

export interface StatsQuery {
  readonly type: 'StatsQuery';
  readonly replyTo: ActorRef<StatsReport>;
}

export interface StatsReport {
  readonly type: 'StatsReport';
  readonly stats: SwitchStats;
}

/** A stage found a rule violation: the parser stops admitting packets. */
export interface Reject {
  readonly type: 'Reject';
  readonly reason: string;
}

export type AnyPacket = Packet<any>;

/** Table, register and counter operations, as stages handle them. */
export type StageControl = TableInsert | TableDelete | TableClear | TableSetDefault | RegisterRead | RegisterWrite | RegisterReset | CounterRead;

// ---- schemas of what may cross hosts -------------------------------------------------------

const RefSchema = Type.Object({ host: Type.String({ minLength: 1 }), path: Type.String({ minLength: 1 }) });
const MsgSchema = Type.Object({ type: Type.String({ minLength: 1 }) });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Id = Type.Optional(Type.Integer());
const Boot = Type.Optional(Type.Integer({ minimum: 0 }));
const MatchFieldSchema = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.Object({ value: Type.Integer({ minimum: 0 }), mask: Type.Integer({ minimum: 0 }) }),
  Type.Object({ value: Type.Integer({ minimum: 0 }), prefixLen: Type.Integer({ minimum: 0 }) }),
]);
const Params = Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 })));
const Version = Type.Optional(Type.Integer());
const PortList = Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 1024 });
const Counts = Type.Array(Type.Number({ minimum: 0 }), { maxItems: 1024 });

export const frameSchemas: Record<string, TSchema> = {
  Frame: Type.Object({
    type: Type.Literal('Frame'),
    ethSrc: Type.Integer({ minimum: 0 }), ethDst: Type.Integer({ minimum: 0 }),
    ipSrc: Type.Optional(Type.Integer({ minimum: 0 })), ipDst: Type.Optional(Type.Integer({ minimum: 0 })),
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    sizeBytes: Type.Integer({ minimum: 1 }),
    payload: MsgSchema,
  }),
};

export const controlSchemas: Record<string, TSchema> = {
  TableInsert: Type.Object({
    type: Type.Literal('TableInsert'), id: Id, replyTo: RefSchema, boot: Boot, table: Name, match: Type.Array(MatchFieldSchema, { maxItems: 64 }),
    action: Name, params: Params, priority: Type.Optional(Type.Integer({ minimum: 0 })), version: Version,
  }),
  TableDelete: Type.Object({
    type: Type.Literal('TableDelete'), id: Id, replyTo: RefSchema, boot: Boot, table: Name, match: Type.Array(MatchFieldSchema, { maxItems: 64 }),
    priority: Type.Optional(Type.Integer({ minimum: 0 })), version: Version,
  }),
  TableClear: Type.Object({ type: Type.Literal('TableClear'), id: Id, replyTo: RefSchema, boot: Boot, table: Name, version: Version }),
  TableSetDefault: Type.Object({ type: Type.Literal('TableSetDefault'), id: Id, replyTo: RefSchema, boot: Boot, table: Name, action: Name, params: Params, version: Version }),
  RegisterRead: Type.Object({ type: Type.Literal('RegisterRead'), id: Id, replyTo: RefSchema, boot: Boot, register: Name, index: Type.Integer({ minimum: 0 }) }),
  RegisterWrite: Type.Object({
    type: Type.Literal('RegisterWrite'), id: Id, replyTo: RefSchema, boot: Boot, register: Name, index: Type.Integer({ minimum: 0 }),
    value: Type.Union([Type.Integer({ minimum: 0 }), Type.BigInt({ minimum: 0n })]), version: Version,
  }),
  RegisterReset: Type.Object({ type: Type.Literal('RegisterReset'), id: Id, replyTo: RefSchema, boot: Boot, register: Name, version: Version }),
  CounterRead: Type.Object({ type: Type.Literal('CounterRead'), id: Id, replyTo: RefSchema, boot: Boot, counter: Name, index: Type.Integer({ minimum: 0 }) }),
  MulticastGroupSet: Type.Object({ type: Type.Literal('MulticastGroupSet'), id: Id, replyTo: RefSchema, boot: Boot, group: Type.Integer({ minimum: 1 }), ports: PortList }),
  StatsRead: Type.Object({ type: Type.Literal('StatsRead'), id: Id, replyTo: RefSchema, boot: Boot }),
  PacketInSubscribe: Type.Object({ type: Type.Literal('PacketInSubscribe'), subscriber: RefSchema }),
  PacketOut: Type.Object({ type: Type.Literal('PacketOut'), msg: MsgSchema }),
  PacketIn: Type.Object({ type: Type.Literal('PacketIn'), switch: Name, ingressPort: Type.Integer(), msg: MsgSchema }),
  ControlReply: Type.Union([
    Type.Object({
      type: Type.Literal('ControlReply'), id: Id, ok: Type.Literal(true), boot: Boot,
      value: Type.Optional(Type.Union([Type.Number(), Type.BigInt()])),
      packets: Type.Optional(Type.Number({ minimum: 0 })), bytes: Type.Optional(Type.Number({ minimum: 0 })),
      stats: Type.Optional(Type.Object({
        rxPackets: Counts, txPackets: Counts, txBytes: Counts, tailDrops: Counts, maxQueueBytes: Counts,
        drops: Type.Record(Type.String(), Type.Number({ minimum: 0 })),
        recirculated: Type.Number(), toCpu: Type.Number(), fromCpu: Type.Number(),
        violations: Type.Array(Type.String()), errors: Type.Array(Type.String()),
        rejected: Type.Union([Type.String(), Type.Null()]),
      })),
    }),
    Type.Object({ type: Type.Literal('ControlReply'), id: Id, ok: Type.Literal(false), error: Type.String(), boot: Boot }),
  ]),
};

export function emptyStats(ports: number): SwitchStats {
  const zeros = (): number[] => new Array<number>(ports).fill(0);
  return {
    rxPackets: zeros(), txPackets: zeros(), txBytes: zeros(), tailDrops: zeros(), maxQueueBytes: zeros(), drops: {},
    recirculated: 0, toCpu: 0, fromCpu: 0, violations: [], errors: [], rejected: null,
  };
}

/** Add `b` into `a` (counters summed, maxima kept, messages appended). */
export function mergeStats(a: SwitchStats, b: SwitchStats): SwitchStats {
  const add = (x: number[], y: number[]): void => { for (let i = 0; i < x.length; i++) x[i]! += y[i] ?? 0; };
  add(a.rxPackets, b.rxPackets);
  add(a.txPackets, b.txPackets);
  add(a.txBytes, b.txBytes);
  add(a.tailDrops, b.tailDrops);
  for (let i = 0; i < a.maxQueueBytes.length; i++) a.maxQueueBytes[i] = Math.max(a.maxQueueBytes[i]!, b.maxQueueBytes[i] ?? 0);
  for (const [k, v] of Object.entries(b.drops)) a.drops[k] = (a.drops[k] ?? 0) + v;
  a.recirculated += b.recirculated;
  a.toCpu += b.toCpu;
  a.fromCpu += b.fromCpu;
  a.violations.push(...b.violations);
  a.errors.push(...b.errors);
  a.rejected ??= b.rejected;
  return a;
}
