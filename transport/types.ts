// The Transport interface: how envelopes cross from one host to another. Implementations:
// memory/ (the simulated network for sim mode and a reliable in-process one for local mode),
// websocket/ (ws) and udp/ (dgram). The actor runtime sits on top and never sees bytes.
import type { Observable } from 'rxjs';

/** Where an actor lives: a host and a path on it. */
export interface Address {
  readonly host: string;
  readonly path: string;
}

/** Every message is an object tagged with its type (a discriminated union in the protocol). */
export interface Msg {
  readonly type: string;
}

/** What travels between hosts: a message, where it goes and which actor sent it. */
export interface Envelope {
  readonly to: Address;
  readonly from?: Address;
  readonly msg: Msg;
}

export type TransportKind = 'memory-sim' | 'memory-local' | 'websocket' | 'udp';

/** Delivery promises of a transport, read by the conformance suite and by users choosing one. */
export interface DeliveryGuarantees {
  /** Every envelope sent while both ends are up arrives (no loss). */
  readonly reliable: boolean;
  /** Envelopes from one sender to one receiver arrive in the order sent. */
  readonly fifo: boolean;
}

export type DeliverFn = (env: Envelope, fromHost: string) => void;

/** Why a frame from outside was refused. Every refusal is counted under its reason. */
export type RejectReason =
  | 'oversized'
  | 'truncated'
  | 'undecodable'
  | 'unauthenticated'
  | 'bad-handshake'
  | 'replayed'
  | 'schema'
  | 'unknown-host'
  | 'misrouted';

export type TransportEvent =
  | { readonly type: 'peerUp'; readonly host: string }
  | { readonly type: 'peerDown'; readonly host: string; readonly reason: string }
  | { readonly type: 'rejected'; readonly reason: RejectReason; readonly peer: string; readonly detail: string }
  | { readonly type: 'dropped'; readonly reason: string; readonly to: string; readonly count: number };

export interface TransportStats {
  sentEnvelopes: number;
  sentFrames: number;
  sentBytes: number;
  receivedEnvelopes: number;
  receivedFrames: number;
  receivedBytes: number;
  /** Envelopes this end dropped on send (backpressure, unknown peer, peer down, ...), by reason. */
  dropped: Record<string, number>;
  /** Frames refused on receipt, by reason. */
  rejected: Partial<Record<RejectReason, number>>;
}

export interface Transport {
  readonly kind: TransportKind;
  /** The host this endpoint speaks for. */
  readonly host: string;
  readonly guarantees: DeliveryGuarantees;
  /** Start receiving: every envelope that passes all checks is handed to `deliver`. */
  start(deliver: DeliverFn): Promise<void>;
  /** Send towards `env.to.host`. Never throws for network conditions: loss is counted instead. */
  send(env: Envelope): void;
  /** Observable peer and rejection events (for logs, metrics and death watch of remote hosts). */
  readonly events: Observable<TransportEvent>;
  stats(): TransportStats;
  close(): Promise<void>;
}

export function emptyStats(): TransportStats {
  return {
    sentEnvelopes: 0, sentFrames: 0, sentBytes: 0,
    receivedEnvelopes: 0, receivedFrames: 0, receivedBytes: 0,
    dropped: {}, rejected: {},
  };
}

export function countDrop(stats: TransportStats, reason: string, n = 1): void {
  stats.dropped[reason] = (stats.dropped[reason] ?? 0) + n;
}

export function countReject(stats: TransportStats, reason: RejectReason): void {
  stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
}
