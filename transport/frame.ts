// Frames: how a batch of envelopes becomes the payload of one WebSocket message or UDP
// datagram, and the checks every payload from outside passes before its envelopes are
// delivered: size, decoding, envelope shape and the message's own schema. A payload that fails
// is refused whole, with a reason; nothing in it reaches an actor.
import type { Codec } from './codec.ts';
import { defaultCodec } from './codec.ts';
import type { SchemaRegistry } from './schemas.ts';
import type { Envelope, Msg, RejectReason } from './types.ts';

/** Wire form of one envelope: [toHost, toPath, fromHost, fromPath, msg]; compact and quick to check. */
type WireEnvelope = [string, string, string | null, string | null, Msg];

export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;
const MAX_NAME_LENGTH = 256;
/**
 * Nesting a message without a schema may have. JSON.parse takes any depth, but the code that
 * later walks the value (a log line, a re-encode, a deep compare) recurses and would overflow
 * the stack: refused here instead, where the reason can be given.
 */
export const MAX_MESSAGE_DEPTH = 64;

export type FrameResult =
  | { readonly ok: true; readonly envelopes: Envelope[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

export interface FrameCodecOptions {
  readonly codec?: Codec;
  readonly maxFrameBytes?: number;
  readonly schemas?: SchemaRegistry;
}

export class FrameCodec {
  readonly codec: Codec;
  readonly maxFrameBytes: number;
  readonly schemas: SchemaRegistry | undefined;

  constructor(opts: FrameCodecOptions = {}) {
    this.codec = opts.codec ?? defaultCodec;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.schemas = opts.schemas;
  }

  encode(envelopes: readonly Envelope[]): Buffer {
    const wire: WireEnvelope[] = new Array(envelopes.length);
    for (let i = 0; i < envelopes.length; i++) {
      const e = envelopes[i]!;
      wire[i] = [e.to.host, e.to.path, e.from?.host ?? null, e.from?.path ?? null, e.msg];
    }
    return this.codec.encode(wire);
  }

  /** Decode and check a payload that came from outside. Never throws. */
  decode(bytes: Uint8Array): FrameResult {
    if (bytes.length > this.maxFrameBytes) {
      return reject('oversized', `${bytes.length} bytes > limit ${this.maxFrameBytes}`);
    }
    let value: unknown;
    try {
      value = this.codec.decode(bytes);
    } catch (err) {
      return reject('undecodable', (err as Error).message);
    }
    if (!Array.isArray(value) || value.length === 0) return reject('schema', 'a frame is a non-empty array of envelopes');
    const envelopes: Envelope[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const w = value[i];
      const problem = checkWire(w);
      if (problem) return reject('schema', `envelope ${i}: ${problem}`);
      const [toHost, toPath, fromHost, fromPath, msg] = w as WireEnvelope;
      if (this.schemas) {
        const bad = this.schemas.check(msg);
        if (bad) return reject('schema', `envelope ${i}: ${bad}`);
      }
      // A schema bounds the shape; a message without one is bounded in depth at least.
      if (!this.schemas?.has(msg.type) && tooDeep(msg, MAX_MESSAGE_DEPTH)) {
        return reject('schema', `envelope ${i}: ${msg.type} is nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
      }
      envelopes[i] = fromHost === null || fromPath === null
        ? { to: { host: toHost, path: toPath }, msg }
        : { to: { host: toHost, path: toPath }, from: { host: fromHost, path: fromPath }, msg };
    }
    return { ok: true, envelopes };
  }
}

function checkWire(w: unknown): string | null {
  if (!Array.isArray(w) || w.length !== 5) return 'not a 5-tuple';
  if (!isName(w[0]) || !isName(w[1])) return 'bad destination address';
  if (!(w[2] === null || isName(w[2])) || !(w[3] === null || isName(w[3]))) return 'bad sender address';
  const msg = w[4];
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'message is not an object';
  const type = (msg as { type?: unknown }).type;
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_NAME_LENGTH) return 'message has no string type';
  return null;
}

/** True when `value` nests objects or arrays more than `budget` levels deep. Stops at the limit. */
function tooDeep(value: unknown, budget: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (budget === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (tooDeep(value[i], budget - 1)) return true;
    return false;
  }
  for (const key in value) if (tooDeep((value as Record<string, unknown>)[key], budget - 1)) return true;
  return false;
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH;
}

function reject(reason: RejectReason, detail: string): FrameResult {
  return { ok: false, reason, detail };
}
