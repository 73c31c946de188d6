// Frames carry batches of envelopes intact, and every payload from outside that is oversized, undecodable, malformed or fails its message schema is refused with the right reason, never with a throw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Type } from '@sinclair/typebox';
import { TypedCodec } from '../../transport/codec.ts';
import { FrameCodec, type FrameResult } from '../../transport/frame.ts';
import { SchemaRegistry } from '../../transport/schemas.ts';
import { schemas as pingPongSchemas } from '../../apps/pingpong/messages.ts';
import type { Envelope } from '../../transport/types.ts';

const codec = new TypedCodec();
/** Encode any value as a payload, bypassing FrameCodec.encode's well-formed wire tuples. */
const raw = (v: unknown): Buffer => codec.encode(v);

const ping: Envelope = { to: { host: 'b', path: 'ponger' }, from: { host: 'a', path: 'pinger' }, msg: { type: 'Ping', seq: 1, replyTo: { host: 'a', path: 'pinger' } } as never };

function refused(result: FrameResult, reason: string, detail: RegExp): void {
  assert.equal(result.ok, false, 'the frame should have been refused');
  if (result.ok) return;
  assert.equal(result.reason, reason);
  assert.match(result.detail, detail);
}

describe('frame round trip', () => {
  it('encodes a batch of envelopes and decodes it back intact, with and without senders', () => {
    const frames = new FrameCodec();
    const batch: Envelope[] = [
      ping,
      { to: { host: 'b', path: 'x/y' }, msg: { type: 'FromOutside' } },
      { to: { host: 'c', path: 'z' }, from: { host: 'a', path: 'w' }, msg: { type: 'Rich', m: new Map([[1, new Set([2n])]]), at: new Date(5) } as never },
    ];
    const result = frames.decode(frames.encode(batch));
    assert.ok(result.ok);
    assert.deepStrictEqual(result.envelopes, batch);
  });

  it('passes a frame exactly at the size limit and refuses one byte more', () => {
    const bytes = new FrameCodec().encode([ping]);
    assert.ok(new FrameCodec({ maxFrameBytes: bytes.length }).decode(bytes).ok);
    refused(new FrameCodec({ maxFrameBytes: bytes.length - 1 }).decode(bytes), 'oversized', new RegExp(`${bytes.length} bytes > limit ${bytes.length - 1}`));
  });
});

describe('frame refusals', () => {
  const frames = new FrameCodec();
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['an empty payload', new Uint8Array(0), 'undecodable', /empty or truncated/],
    ['a payload with an unknown tag', Buffer.from('Q[]'), 'undecodable', /unknown encoding tag/],
    ['a payload of broken JSON', Buffer.from('J[["b"'), 'undecodable', /malformed JSON/],
    ['a frame that is not an array', raw({ to: 'b' }), 'schema', /non-empty array of envelopes/],
    ['an empty array', raw([]), 'schema', /non-empty array/],
    ['an envelope that is not a tuple', raw([{ to: 'b' }]), 'schema', /envelope 0: not a 5-tuple/],
    ['a 4-tuple', raw([['b', 'p', null, null]]), 'schema', /envelope 0: not a 5-tuple/],
    ['an empty destination host', raw([['', 'p', null, null, { type: 'X' }]]), 'schema', /bad destination address/],
    ['a numeric destination path', raw([['b', 7, null, null, { type: 'X' }]]), 'schema', /bad destination address/],
    ['an over-long host name', raw([['h'.repeat(257), 'p', null, null, { type: 'X' }]]), 'schema', /bad destination address/],
    ['a sender host that is not a string', raw([['b', 'p', 1, 'q', { type: 'X' }]]), 'schema', /bad sender address/],
    ['a message that is not an object', raw([['b', 'p', null, null, 'hello']]), 'schema', /message is not an object/],
    ['a message that is an array', raw([['b', 'p', null, null, [1]]]), 'schema', /message is not an object/],
    ['a message without a type', raw([['b', 'p', null, null, { seq: 1 }]]), 'schema', /message has no string type/],
    ['a message with an empty type', raw([['b', 'p', null, null, { type: '' }]]), 'schema', /message has no string type/],
    ['a good envelope followed by a bad one', raw([['b', 'p', null, null, { type: 'X' }], ['b', 'p', null, null, null]]), 'schema', /envelope 1: message is not an object/],
  ];
  for (const [name, bytes, reason, detail] of cases) {
    it(`refuses ${name} as '${reason}'`, () => {
      refused(frames.decode(bytes), reason, detail);
    });
  }
});

describe('frame schemas', () => {
  const strict = new SchemaRegistry(true).addAll(pingPongSchemas);
  const lenient = new SchemaRegistry(false).addAll(pingPongSchemas);
  const env = (msg: unknown): Buffer => raw([['b', 'ponger', 'a', 'pinger', msg]]);

  it('passes a message that matches its schema', () => {
    assert.ok(new FrameCodec({ schemas: strict }).decode(new FrameCodec().encode([ping])).ok);
  });

  it('refuses a message of a known type whose fields are wrong, naming the field', () => {
    const frames = new FrameCodec({ schemas: strict });
    refused(frames.decode(env({ type: 'Ping', seq: -1, replyTo: { host: 'a', path: 'p' } })), 'schema', /Ping\/seq/);
    refused(frames.decode(env({ type: 'Ping', seq: 1.5, replyTo: { host: 'a', path: 'p' } })), 'schema', /Ping\/seq/);
    refused(frames.decode(env({ type: 'Ping', seq: 1 })), 'schema', /Ping\/replyTo/);
    refused(frames.decode(env({ type: 'Pong', seq: 'one' })), 'schema', /Pong\/seq/);
  });

  it('the lenient registry checks known types just as strictly', () => {
    refused(new FrameCodec({ schemas: lenient }).decode(env({ type: 'Pong', seq: 'one' })), 'schema', /Pong\/seq/);
  });

  it('a strict registry refuses a message type it has no schema for; a lenient one lets it pass', () => {
    refused(new FrameCodec({ schemas: strict }).decode(env({ type: 'Mystery' })), 'schema', /no schema for message type 'Mystery'/);
    const result = new FrameCodec({ schemas: lenient }).decode(env({ type: 'Mystery' }));
    assert.ok(result.ok);
    assert.deepEqual(result.envelopes[0]!.msg, { type: 'Mystery' });
  });

  it('a registry refuses a second schema for the same type and merges without overwriting', () => {
    const r = new SchemaRegistry().add('A', Type.Object({ type: Type.Literal('A') }));
    assert.throws(() => r.add('A', Type.Object({ type: Type.Literal('A') })), /already registered/);
    const other = new SchemaRegistry().add('A', Type.Object({ type: Type.Literal('A'), x: Type.Number() })).add('B', Type.Object({ type: Type.Literal('B') }));
    r.merge(other);
    assert.deepEqual(r.types.sort(), ['A', 'B']);
    assert.equal(r.check({ type: 'A' }), null, 'the first schema for A is kept');
  });
});

describe('frame properties', () => {
  const strict = new SchemaRegistry(true).addAll(pingPongSchemas);
  const frames = [new FrameCodec(), new FrameCodec({ schemas: strict }), new FrameCodec({ maxFrameBytes: 64 })];
  const check = (bytes: Uint8Array): void => {
    for (const f of frames) {
      const r = f.decode(bytes);
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.ok(r.reason.length > 0 && typeof r.detail === 'string');
    }
  };

  it('arbitrary bytes never make decode throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => check(bytes)), { numRuns: 500, seed: 7 });
  });

  it('arbitrary JSON and superjson payloads never make decode throw', () => {
    const payload = fc.oneof(
      fc.jsonValue().map((v) => raw(v)),
      fc.jsonValue().map((v) => Buffer.from(`S${JSON.stringify({ json: v, meta: { values: v } })}`)),
      fc.array(fc.tuple(fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), fc.jsonValue()), { minLength: 1, maxLength: 3 }).map((v) => raw(v)),
      fc.string().map((s) => Buffer.from(`J${s}`)),
    );
    fc.assert(fc.property(payload, (bytes) => check(bytes)), { numRuns: 200, seed: 8 });
  });

  it('a deeply nested payload is refused, not a stack overflow', () => {
    const deep = Buffer.from(`J${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    check(deep);
    for (const f of frames) assert.equal(f.decode(deep).ok, false);
    // The nesting inside a well-formed envelope's message: decoded without a throw, and refused
    // by the message schemas where there are any (a Ping has no such field), and by the depth
    // bound where there are none.
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const inTuple = Buffer.from(`J[["b","ponger","a","pinger",{"type":"Ping","seq":1,"deep":${nested}}]]`);
    check(inTuple);
    const strictResult = frames[1]!.decode(inTuple);
    assert.equal(strictResult.ok, false);
    if (!strictResult.ok) assert.equal(strictResult.reason, 'schema');
    refused(frames[0]!.decode(inTuple), 'schema', /envelope 0: Ping is nested deeper than 64 levels/);
  });

  it('a message without a schema may nest 64 levels and no more', () => {
    const frames = new FrameCodec();
    const nestedIn = (levels: number): Buffer => {
      // The message object is level 1; each array inside it one more.
      let v: unknown = 1;
      for (let i = 1; i < levels; i++) v = [v];
      return raw([['b', 'p', null, null, { type: 'Deep', v }]]);
    };
    assert.ok(frames.decode(nestedIn(64)).ok);
    refused(frames.decode(nestedIn(65)), 'schema', /Deep is nested deeper than 64 levels/);
    // Objects count as arrays do, and a second envelope is checked as the first.
    let o: unknown = 1;
    for (let i = 0; i < 70; i++) o = { o };
    refused(frames.decode(raw([['b', 'p', null, null, { type: 'Ok' }], ['b', 'p', null, null, { type: 'Deep', o }]])), 'schema', /envelope 1: Deep is nested/);
  });
});
