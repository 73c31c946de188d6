// Packets inside the switch. A message that arrives on a port becomes a Packet: typed headers
// (what the program's parser extracted), a size in bytes, the original message as the payload
// the deparser rebuilds from, and metadata (the PISA "standard metadata": ingress port, time
// stamps, drop flag, multicast group, egress port, recirculation count). Stages change headers
// and metadata in place, as a P4 pipeline changes its packet header vector; a packet object
// belongs to exactly one stage at a time, so nothing else sees it change.
import type { Msg } from '../actors/index.ts';

/** No port chosen yet (metadata) or no port at all. */
export const PORT_NONE = -1;
/** The CPU port: packets from the control plane enter here; clones to the control plane leave here. */
export const PORT_CPU = -2;
/** The recirculation port: a recirculated packet re-enters the parser from here. */
export const PORT_RECIRC = -3;

/**
 * Size of a message without a `sizeBytes` field: the same default the simulated network uses
 * for bandwidth (transport/memory/sim-network.ts), so the switch's ports and the links agree.
 */
export const DEFAULT_PAYLOAD_BYTES = 100;

export interface PacketMeta {
  /** The front-panel port it arrived on, or PORT_CPU / PORT_RECIRC. */
  ingressPort: number;
  /** When it arrived at the switch (ctx time: virtual ms in sim). */
  ingressTimestampMs: number;
  /** When the traffic manager dequeued it for its egress port (set for egress stages). */
  egressTimestampMs: number;
  /** Set by markDrop: the traffic manager (after ingress) or deparser (after egress) discards it. */
  drop: boolean;
  /** Why it was dropped, counted under this name. */
  dropReason: string;
  /** Multicast group (1..65535) to replicate to; 0 for none. Takes precedence over egressPort. */
  mcastGroup: number;
  /** Unicast egress port, or PORT_NONE. In egress: the port this copy leaves on. */
  egressPort: number;
  /** In egress: which copy of a multicast this is (its position in the group), 0 for unicast. */
  egressRid: number;
  /** Set in ingress: send it around again through the recirculation port. */
  recirculate: boolean;
  /** How many times it has been recirculated so far. */
  recirculations: number;
  /** Set in ingress: also send a copy to the control plane (PacketIn). */
  cloneToCpu: boolean;
}

export interface Packet<H> {
  readonly type: 'Packet';
  /** Order of arrival at this switch (copies of one packet share it). */
  readonly id: number;
  headers: H;
  /** Size on the wire in bytes: serialisation delay and buffer space are computed from it. */
  payloadBytes: number;
  /** The message it was parsed from: the deparser builds the outgoing message from it. */
  readonly msg: Msg;
  meta: PacketMeta;
}

export function newMeta(ingressPort: number, atMs: number): PacketMeta {
  return {
    ingressPort, ingressTimestampMs: atMs, egressTimestampMs: 0, drop: false, dropReason: '',
    mcastGroup: 0, egressPort: PORT_NONE, egressRid: 0, recirculate: false, recirculations: 0, cloneToCpu: false,
  };
}

/** Mark a packet to be dropped (P4's mark_to_drop); later stages are skipped. */
export function markDrop(pkt: Packet<unknown>, reason: string): void {
  pkt.meta.drop = true;
  pkt.meta.dropReason = reason;
}

/** `msg.sizeBytes` when it is a positive number, else DEFAULT_PAYLOAD_BYTES. */
export function payloadBytesOf(msg: Msg): number {
  const declared = (msg as { sizeBytes?: unknown }).sizeBytes;
  return typeof declared === 'number' && declared > 0 ? declared : DEFAULT_PAYLOAD_BYTES;
}

/**
 * A copy of `msg` with `fields` changed, for deparsers. It uses Object.assign rather than
 * `{ ...msg, ...fields }`: V8 (Node 20) takes a slow path, over a microsecond, for an object
 * spread followed by more properties, against about a tenth of that for Object.assign.
 */
export function withFields<M extends Msg>(msg: M, fields: Partial<M>): M {
  return Object.assign({}, msg, fields);
}

/** A deep copy of plain header data (objects, arrays, numbers, strings, bigints, booleans). */
export function cloneHeaders<H>(h: H): H {
  if (h === null || typeof h !== 'object') return h;
  if (Array.isArray(h)) return h.map(cloneHeaders) as H;
  // A spread first (V8 copies a flat object in one step, several times faster than adding the
  // fields one by one), then copies of any nested objects.
  const out: Record<string, unknown> = { ...(h as Record<string, unknown>) };
  for (const k in out) {
    const v = out[k];
    if (v !== null && typeof v === 'object') out[k] = cloneHeaders(v);
  }
  return out as H;
}

/** A copy of a packet (for multicast replication and clones): headers and metadata are its own. */
export function copyPacket<H>(pkt: Packet<H>, clone: (h: H) => H): Packet<H> {
  return { type: 'Packet', id: pkt.id, headers: clone(pkt.headers), payloadBytes: pkt.payloadBytes, msg: pkt.msg, meta: { ...pkt.meta } };
}
