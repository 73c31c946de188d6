// The codec turns values into bytes and back. superjson keeps Map, Set, BigInt, Date and
// undefined-in-arrays, but it is several times slower than JSON; most protocol messages hold
// only plain fields, so those take a JSON fast path and only the rest pay for superjson.
// The first byte of every encoding says which path made it.
import superjson from 'superjson';

export interface Codec {
  readonly name: string;
  encode(value: unknown): Buffer;
  decode(bytes: Uint8Array): unknown;
}

const TAG_JSON = 0x4a; // 'J'
/** JSON whose text is all ASCII: decodes with a byte-per-char copy instead of UTF-8 decoding. */
const TAG_ASCII_JSON = 0x6a; // 'j'
const TAG_SUPERJSON = 0x53; // 'S'
const MAX_PLAIN_DEPTH = 32;

/** True when JSON.stringify/parse round-trips `value` exactly (up to optional fields left out). */
export function isPlain(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_PLAIN_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          if (item === undefined || !isPlain(item, depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        // An undefined field is left out by JSON, which reads back the same for optional fields.
        if (item !== undefined && !isPlain(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

export class TypedCodec implements Codec {
  readonly name = 'superjson+json-fast-path';
  /** How many encodes took each path (for benchmarks and curiosity). */
  readonly counts = { json: 0, superjson: 0 };

  encode(value: unknown): Buffer {
    if (isPlain(value)) {
      this.counts.json++;
      const text = JSON.stringify(value);
      const out = Buffer.from(`J${text}`);
      // One byte per character means every character was ASCII.
      if (out.length === text.length + 1) out[0] = TAG_ASCII_JSON;
      return out;
    }
    this.counts.superjson++;
    return withTag(TAG_SUPERJSON, superjson.stringify(value));
  }

  decode(bytes: Uint8Array): unknown {
    if (bytes.length < 2) throw new CodecError('empty or truncated encoding');
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      switch (buf[0]) {
        case TAG_ASCII_JSON: return JSON.parse(buf.toString('latin1', 1));
        case TAG_JSON: return JSON.parse(buf.toString('utf8', 1));
        case TAG_SUPERJSON: return superjson.parse(buf.toString('utf8', 1));
        default: throw new CodecError(`unknown encoding tag 0x${buf[0]!.toString(16)}`);
      }
    } catch (err) {
      if (err instanceof CodecError) throw err;
      throw new CodecError(`malformed ${buf[0] === TAG_SUPERJSON ? 'superjson' : 'JSON'}: ${(err as Error).message}`);
    }
  }
}

/** Superjson for everything, no fast path: the baseline the benchmark compares against. */
export class SuperjsonCodec implements Codec {
  readonly name = 'superjson';
  encode(value: unknown): Buffer {
    return withTag(TAG_SUPERJSON, superjson.stringify(value));
  }
  decode(bytes: Uint8Array): unknown {
    return decoder.decode(bytes);
  }
}

const decoder = new TypedCodec();

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

function withTag(tag: number, text: string): Buffer {
  const len = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(len + 1);
  out[0] = tag;
  out.write(text, 1, len, 'utf8');
  return out;
}

export const defaultCodec: Codec = new TypedCodec();
