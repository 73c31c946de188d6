// The UDP datagram: sealing (header, frames, tag) on the way out and opening (size, version,
// tag, header) on the way in. The layout is documented at the top of udp-transport.ts. This file
// knows bytes and the secret only; sockets, queues and envelopes live in udp-transport.ts.
import { hmac, macEquals } from '../auth.ts';
import type { RejectReason } from '../types.ts';

export const DATAGRAM_VERSION = 1;
export const TAG_BYTES = 16;
export const MAX_HOST_BYTES = 255;
/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP); IPv6 allows a little more, we don't use it. */
export const MAX_UDP_PAYLOAD_BYTES = 65_507;
/** Smallest datagram limit a transport accepts: room for two long host names and some frames. */
export const MIN_MAX_DATAGRAM_BYTES = 576;
const COUNTER_BYTES = 6; // u48: incarnation in ms and sequence; both stay below 2^53
const FRAME_LENGTH_BYTES = 2; // u16 before every frame
/** version, from length, >= 1 byte of name, to length, >= 1 byte of name, incarnation, sequence. */
const MIN_HEADER_BYTES = 1 + 1 + 1 + 1 + 1 + COUNTER_BYTES + COUNTER_BYTES;
export const MIN_DATAGRAM_BYTES = MIN_HEADER_BYTES + TAG_BYTES;
/** Domain separation: a tag made for this format can't pass for another HMAC of the cluster secret. */
const TAG_LABEL = Buffer.from(`switchboard/udp/${DATAGRAM_VERSION}`, 'utf8');

export interface DatagramHeader {
  readonly fromHost: string;
  readonly toHost: string;
  /** The sender's incarnation: strictly increasing across its restarts. */
  readonly incarnation: number;
  /** Datagram number of this sender towards this receiver within the incarnation, from 1. */
  readonly sequence: number;
}

export type OpenResult =
  | { readonly ok: true; readonly header: DatagramHeader; readonly frames: Buffer[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

/**
 * The constant part of every datagram from one sender to one receiver (version, both names and
 * the incarnation); the sequence follows it.
 */
export function headerPrefix(fromHost: string, toHost: string, incarnation: number): Buffer {
  const from = hostBytes(fromHost);
  const to = hostBytes(toHost);
  const prefix = Buffer.allocUnsafe(1 + 1 + from.length + 1 + to.length + COUNTER_BYTES);
  let at = prefix.writeUInt8(DATAGRAM_VERSION, 0);
  at = prefix.writeUInt8(from.length, at);
  at += from.copy(prefix, at);
  at = prefix.writeUInt8(to.length, at);
  at += to.copy(prefix, at);
  prefix.writeUIntBE(incarnation, at, COUNTER_BYTES);
  return prefix;
}

/** Bytes left for frames (with their length prefixes) in a datagram of `maxDatagramBytes`. */
export function frameBudgetBytes(prefix: Buffer, maxDatagramBytes: number): number {
  return maxDatagramBytes - prefix.length - COUNTER_BYTES - TAG_BYTES;
}

/** Bytes a frame takes in the datagram: its length prefix and itself. */
export function framedBytes(frame: Buffer): number {
  return FRAME_LENGTH_BYTES + frame.length;
}

/**
 * Build one datagram from `frames[start, end)`, whose framed sizes add up to `framesBytes`,
 * and tag it.
 */
export function sealDatagram(
  secret: Buffer, prefix: Buffer, sequence: number,
  frames: readonly Buffer[], start: number, end: number, framesBytes: number,
): Buffer {
  const body = prefix.length + COUNTER_BYTES + framesBytes;
  const out = Buffer.allocUnsafe(body + TAG_BYTES);
  let at = prefix.copy(out, 0);
  at = out.writeUIntBE(sequence, at, COUNTER_BYTES);
  for (let i = start; i < end; i++) {
    const frame = frames[i]!;
    at = out.writeUInt16BE(frame.length, at);
    at += frame.copy(out, at);
  }
  if (at !== body) throw new Error(`datagram assembly: wrote ${at} bytes, expected ${body}`);
  tagOf(secret, out.subarray(0, body)).copy(out, body, 0, TAG_BYTES);
  return out;
}

/**
 * Check a datagram from outside, cheapest test first, and split it into header and frames.
 * Nothing is parsed beyond the version byte until the tag has been verified. Never throws.
 */
export function openDatagram(secret: Buffer, bytes: Buffer, maxDatagramBytes: number): OpenResult {
  if (bytes.length > maxDatagramBytes) return refuse('oversized', `${bytes.length} bytes > limit ${maxDatagramBytes}`);
  if (bytes.length < MIN_DATAGRAM_BYTES) return refuse('truncated', `${bytes.length} bytes < minimum ${MIN_DATAGRAM_BYTES}`);
  if (bytes[0] !== DATAGRAM_VERSION) return refuse('undecodable', `datagram version ${bytes[0]}, expected ${DATAGRAM_VERSION}`);
  const body = bytes.length - TAG_BYTES;
  const expected = tagOf(secret, bytes.subarray(0, body)).subarray(0, TAG_BYTES);
  if (!macEquals(expected, bytes.subarray(body))) return refuse('unauthenticated', 'bad datagram tag');
  return parseBody(bytes.subarray(0, body));
}

/** Parse an authenticated body. A failure here means a sender with the secret but a bug. */
function parseBody(body: Buffer): OpenResult {
  let at = 1;
  const fromLength = body[at++]!;
  const fromEnd = at + fromLength;
  if (fromLength === 0 || fromEnd >= body.length) return refuse('undecodable', 'bad sender name length');
  const fromHost = body.toString('utf8', at, fromEnd);
  at = fromEnd;
  const toLength = body[at++]!;
  const toEnd = at + toLength;
  if (toLength === 0 || toEnd + 2 * COUNTER_BYTES > body.length) return refuse('undecodable', 'bad receiver name length');
  const toHost = body.toString('utf8', at, toEnd);
  at = toEnd;
  const incarnation = body.readUIntBE(at, COUNTER_BYTES);
  const sequence = body.readUIntBE(at + COUNTER_BYTES, COUNTER_BYTES);
  at += 2 * COUNTER_BYTES;
  const frames = splitFrames(body, at);
  if (typeof frames === 'string') return refuse('undecodable', frames);
  return { ok: true, header: { fromHost, toHost, incarnation, sequence }, frames };
}

/** The length-prefixed frames from `at` to the end of `body`, or what is wrong with them. */
function splitFrames(body: Buffer, at: number): Buffer[] | string {
  const frames: Buffer[] = [];
  while (at < body.length) {
    if (at + FRAME_LENGTH_BYTES > body.length) return 'frame length cut short';
    const length = body.readUInt16BE(at);
    at += FRAME_LENGTH_BYTES;
    if (length === 0 || at + length > body.length) return `frame of ${length} bytes overruns the datagram`;
    frames.push(body.subarray(at, at + length));
    at += length;
  }
  if (frames.length === 0) return 'a datagram carries at least one frame';
  return frames;
}

function tagOf(secret: Buffer, body: Buffer): Buffer {
  return hmac(secret, TAG_LABEL, body);
}

/** A host name as it goes on the wire; refuses names that do not fit the one-byte length. */
export function hostBytes(host: string): Buffer {
  const bytes = Buffer.from(host, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_HOST_BYTES) {
    throw new RangeError(`host name '${host}' is ${bytes.length} bytes in UTF-8; 1 to ${MAX_HOST_BYTES} allowed`);
  }
  return bytes;
}

function refuse(reason: RejectReason, detail: string): OpenResult {
  return { ok: false, reason, detail };
}
