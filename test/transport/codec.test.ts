// The codec round-trips plain and rich values exactly, takes its JSON fast path only for plain values, and turns every bad encoding into a CodecError with a reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError, isPlain, SuperjsonCodec, TypedCodec } from '../../transport/codec.ts';

const roundTrip = (codec: TypedCodec, v: unknown): unknown => codec.decode(codec.encode(v));

describe('codec round trips', () => {
  const cases: [string, unknown][] = [
    ['a plain message', { type: 'Ping', seq: 3, replyTo: { host: 'a', path: 'pinger' }, tags: ['x', 'y'], ok: true, none: null }],
    ['a string with unicode and quotes', 'héllo "wörld" \u2028 \ud83d\ude00'],
    ['a Map', new Map<unknown, unknown>([['k', 1], [2, { deep: [1, 2] }]])],
    ['a Set', new Set([1, 'two', 3])],
    ['a BigInt', 2n ** 100n],
    ['a negative BigInt in a message', { type: 'Big', v: -(2n ** 64n) }],
    ['a Date', new Date(1_700_000_000_123)],
    ['undefined in an array', [1, undefined, 3]],
    ['NaN, Infinity and -0', [NaN, Infinity, -Infinity, -0]],
    ['nested rich values', { type: 'Rich', m: new Map([['s', new Set([new Date(0)])]]), list: [{ big: 1n }, undefined] }],
    ['an empty object and array', { a: {}, b: [] }],
    ['a top-level number', 42],
    ['a top-level null', null],
  ];
  for (const [name, value] of cases) {
    it(`round-trips ${name}`, () => {
      assert.deepStrictEqual(roundTrip(new TypedCodec(), value), value);
    });
  }

  it('drops an undefined object field, which reads back the same for an optional field', () => {
    assert.deepStrictEqual(roundTrip(new TypedCodec(), { type: 'T', opt: undefined, n: 1 }), { type: 'T', n: 1 });
  });

  it('the superjson-only baseline codec round-trips the same values', () => {
    const codec = new SuperjsonCodec();
    for (const [, value] of cases) assert.deepStrictEqual(codec.decode(codec.encode(value)), value);
  });
});

describe('codec fast path', () => {
  it('takes the JSON path for plain values only, and counts each path', () => {
    const codec = new TypedCodec();
    codec.encode({ type: 'Ping', seq: 1, list: [1, 'a', null, { x: true }] });
    codec.encode('text');
    codec.encode([]);
    assert.deepEqual(codec.counts, { json: 3, superjson: 0 });
    for (const rich of [new Map(), new Set(), 1n, new Date(0), [undefined], NaN, -0, Infinity, { d: new Date(0) }, [[[1n]]]]) {
      codec.encode(rich);
    }
    assert.deepEqual(codec.counts, { json: 3, superjson: 10 });
  });

  it('marks each encoding with the path that made it', () => {
    const codec = new TypedCodec();
    assert.equal(codec.encode({ a: 1 })[0], 0x6a, 'all-ASCII JSON');
    assert.equal(codec.encode({ a: 'héllo' })[0], 0x4a, 'JSON with non-ASCII text');
    assert.equal(codec.encode({ a: 1n })[0], 0x53, 'superjson');
    for (const v of [{ a: 'héllo ✓ 😀' }, { a: 'plain' }, ['x', 'ÿ']]) assert.deepEqual(codec.decode(codec.encode(v)), v);
  });

  it('isPlain refuses class instances, functions, symbols and deep nesting', () => {
    class Thing { x = 1; }
    assert.equal(isPlain(new Thing()), false);
    assert.equal(isPlain({ f: () => 1 }), false);
    assert.equal(isPlain(Symbol('s')), false);
    assert.equal(isPlain(undefined), false);
    assert.equal(isPlain(Object.create(null)), true);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    assert.equal(isPlain(deep), false);
    assert.deepStrictEqual(roundTrip(new TypedCodec(), deep), deep);
  });
});

describe('codec decode errors', () => {
  const codec = new TypedCodec();
  const bad: [string, Uint8Array, RegExp][] = [
    ['an empty buffer', new Uint8Array(0), /empty or truncated/],
    ['a lone tag byte', Uint8Array.of(0x4a), /empty or truncated/],
    ['an unknown tag', Buffer.from('X{}'), /unknown encoding tag 0x58/],
    ['bad JSON', Buffer.from('J{"a":'), /malformed JSON/],
    ['bad superjson text', Buffer.from('S{nope'), /malformed superjson/],
  ];
  for (const [name, bytes, reason] of bad) {
    it(`refuses ${name} with a CodecError and a reason`, () => {
      assert.throws(() => codec.decode(bytes), (err: unknown) => err instanceof CodecError && reason.test(err.message));
    });
  }

  it('decodes from a Uint8Array view into a larger buffer', () => {
    const enc = codec.encode({ type: 'X', n: 1 });
    const big = new Uint8Array(enc.length + 10);
    big.set(enc, 5);
    assert.deepEqual(codec.decode(big.subarray(5, 5 + enc.length)), { type: 'X', n: 1 });
  });
});

describe('codec properties', () => {
  // Rich values the codec promises to keep, built from JSON-ish leaves.
  const rich: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.jsonValue({ maxDepth: 2 }),
      fc.bigInt(),
      fc.date({ noInvalidDate: true }),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, undefined),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), tie('value').filter((v) => v !== undefined), { maxKeys: 4, noNullPrototype: true }),
      fc.array(fc.tuple(fc.string({ maxLength: 4 }), tie('value')), { maxLength: 3 }).map((kv) => new Map(kv)),
      fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 4 }).map((xs) => new Set(xs)),
    ),
  })).value;

  it('decode(encode(v)) deep-equals v for arbitrary JSON values', () => {
    const codec = new TypedCodec();
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      assert.deepStrictEqual(roundTrip(codec, v), v);
    }), { numRuns: 300, seed: 20240601 });
  });

  it('decode(encode(v)) deep-equals v for arbitrary rich values', () => {
    const codec = new TypedCodec();
    fc.assert(fc.property(rich, (v) => {
      assert.deepStrictEqual(roundTrip(codec, v), v);
    }), { numRuns: 300, seed: 20240601 });
  });
});
