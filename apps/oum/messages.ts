// Ordered Unreliable Multicast (NOPaxos, OSDI 2016, section 3): the contract between senders,
// sequencers (in a switch, or on a host) and receivers.
//
// A sender puts an `oum` header with its multicast group on an ordinary protocol message and
// sends it to the group's sequencer. The sequencer stamps `(sessionNum, msgNum)` — msgNum
// rises by exactly 1 per message of the group within a session, starting at 1 — and sends one
// copy to every member of the group. Receivers detect drops from gaps in msgNum and a new
// sequencer from a higher sessionNum. Unstamped headers carry sessionNum 0 and msgNum 0.
import { Type } from '@sinclair/typebox';
import type { ActorRef, Msg } from '../../actors/index.ts';

export interface OumHeader {
  readonly group: number;
  readonly sessionNum: number;
  readonly msgNum: number;
}

/** Any protocol message that travels by OUM. */
export type OumMessage<M extends Msg = Msg> = M & { readonly oum: OumHeader };

export const OumHeaderSchema = Type.Object({
  group: Type.Integer({ minimum: 0 }),
  sessionNum: Type.Integer({ minimum: 0 }),
  msgNum: Type.Integer({ minimum: 0 }),
});

/** An unstamped header for `group`, as a sender writes it. */
export function oumHeader(group: number): OumHeader {
  return { group, sessionNum: 0, msgNum: 0 };
}

/** The stamped copy of a message; the original is never mutated. */
export function stamp<M extends Msg>(msg: OumMessage<M>, sessionNum: number, msgNum: number): OumMessage<M> {
  // Object.assign, not a spread followed by a field: the spread form costs ~10x more on Node 20,
  // and a sequencer stamps every packet.
  return Object.assign({}, msg, { oum: { group: msg.oum.group, sessionNum, msgNum } });
}

// ---- control of a host-based sequencer (an in-switch sequencer is configured through its
// control plane instead) --------------------------------------------------------------------

/** Set the members of a multicast group. */
export interface OumSetGroup {
  readonly type: 'OumSetGroup';
  readonly group: number;
  readonly members: readonly ActorRef<Msg>[];
}

/** Start a new session: msgNum restarts at 1 under `sessionNum`, which must be higher. */
export interface OumStartSession {
  readonly type: 'OumStartSession';
  readonly sessionNum: number;
  /**
   * The life of the sequencer it is meant for (its host's incarnation, as its OumPong said); a
   * sequencer of another life ignores it. A sequencer that restarted has forgotten its sessions,
   * and a late copy of the start of one it stamped in before would number that session anew.
   */
  readonly incarnation?: number;
}

// ---- liveness and routing (the controller's side of the contract) --------------------------

/** A liveness probe: a live sequencer answers with OumPong at once. */
export interface OumPing {
  readonly type: 'OumPing';
  readonly seq: number;
  readonly replyTo: ActorRef<OumPong>;
}

export interface OumPong {
  readonly type: 'OumPong';
  readonly seq: number;
  /** The session the sequencer stamps with now (-1 while it has none). */
  readonly sessionNum: number;
  /** The sequencer's life: its host's incarnation (0 until its first restart). */
  readonly incarnation: number;
}

/**
 * From the controller to a sender: messages of `group` now go to `sequencer` (a route change in
 * the network, after a failover). The sender answers with OumRouteAck.
 */
export interface OumRoute {
  readonly type: 'OumRoute';
  readonly group: number;
  readonly sequencer: ActorRef<Msg>;
  readonly sessionNum: number;
  readonly replyTo: ActorRef<OumRouteAck>;
}

export interface OumRouteAck {
  readonly type: 'OumRouteAck';
  readonly group: number;
  readonly sessionNum: number;
  /** The sender that takes the route. */
  readonly sender: ActorRef<OumRoute>;
}

/** The control messages a host-based sequencer accepts (besides the messages it stamps). */
export type OumControl = OumSetGroup | OumStartSession | OumPing;

export const RefSchema = Type.Object({ host: Type.String({ minLength: 1 }), path: Type.String({ minLength: 1 }) });

/** Schemas of the OUM control messages that cross hosts. */
export const oumSchemas = {
  OumSetGroup: Type.Object({ type: Type.Literal('OumSetGroup'), group: Type.Integer({ minimum: 0 }), members: Type.Array(RefSchema, { maxItems: 64 }) }),
  OumStartSession: Type.Object({ type: Type.Literal('OumStartSession'), sessionNum: Type.Integer({ minimum: 0 }), incarnation: Type.Optional(Type.Integer({ minimum: 0 })) }),
  OumPing: Type.Object({ type: Type.Literal('OumPing'), seq: Type.Integer({ minimum: 0 }), replyTo: RefSchema }),
  OumPong: Type.Object({ type: Type.Literal('OumPong'), seq: Type.Integer({ minimum: 0 }), sessionNum: Type.Integer({ minimum: -1 }), incarnation: Type.Integer({ minimum: 0 }) }),
  OumRoute: Type.Object({
    type: Type.Literal('OumRoute'), group: Type.Integer({ minimum: 0 }), sequencer: RefSchema,
    sessionNum: Type.Integer({ minimum: 0 }), replyTo: RefSchema,
  }),
  OumRouteAck: Type.Object({ type: Type.Literal('OumRouteAck'), group: Type.Integer({ minimum: 0 }), sessionNum: Type.Integer({ minimum: 0 }), sender: RefSchema }),
};
