// Actor refs are sound at compile time (`npx tsc -p .` checks the `@ts-expect-error` lines below: each must mark a real error) and refuse bad names at run time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { behavior, ref, sameRef, refKey, formatRef, Topology, type ActorRef, type AnyRef, type Ctx } from '../../actors/index.ts';
import { checkPath, checkName } from '../../actors/ref.ts';

interface A { readonly type: 'A'; readonly a: number }
interface B { readonly type: 'B'; readonly b: string }

// ---- compile-time soundness: every line below is type-checked by `npx tsc -p .` -------------
// These functions are never called; they exist to be checked.

export function refsAreNotInterchangeable(ra: ActorRef<A>, rb: ActorRef<B>): void {
  // @ts-expect-error a ref that accepts A is not a ref that accepts B
  const x: ActorRef<B> = ra;
  // @ts-expect-error nor the other way round
  const y: ActorRef<A> = rb;
  void x; void y;
}

export function refsAreContravariant(rab: ActorRef<A | B>, ra: ActorRef<A>): void {
  // A ref that accepts A or B may be used where a ref that accepts only A is needed...
  const ok: ActorRef<A> = rab;
  // @ts-expect-error ...but a ref that accepts only A cannot stand for one that must accept B too
  const bad: ActorRef<A | B> = ra;
  // Every ref is an AnyRef (for stop, watch and unwatch), whatever it accepts.
  const any1: AnyRef = ra;
  const any2: AnyRef = rab;
  // @ts-expect-error and an AnyRef cannot be sent anything: its message type is unknown
  const back: ActorRef<A> = any1;
  void ok; void bad; void any2; void back;
}

export function sendChecksTheMessage(ctx: Ctx<A>, ra: ActorRef<A>, rab: ActorRef<A | B>, any: AnyRef): void {
  ctx.send(ra, { type: 'A', a: 1 });
  ctx.send(rab, { type: 'B', b: 'x' });
  // @ts-expect-error a B cannot be sent to a ref that accepts only A
  ctx.send(ra, { type: 'B', b: 'x' });
  // @ts-expect-error nor an A with a field of the wrong type
  ctx.send(ra, { type: 'A', a: 'one' });
  // @ts-expect-error nor an A missing a field
  ctx.send(ra, { type: 'A' });
  // @ts-expect-error nor anything to a ref of unknown type
  ctx.send(any, { type: 'A', a: 1 });
  // @ts-expect-error a timer message must be one the actor itself accepts
  ctx.startTimer('t', 10, { type: 'B', b: 'x' });
  // @ts-expect-error the ask's adapter must turn the result into the asker's own message type
  ctx.ask<B, A>(rab, (replyTo) => ({ type: 'B', b: replyTo.path }), 10, () => ({ type: 'B', b: 'x' }));
}

export function selfAndSpawnAreTyped(ctx: Ctx<A>): void {
  const self: ActorRef<A> = ctx.self;
  // @ts-expect-error self accepts A only
  const notSelf: ActorRef<B> = ctx.self;
  const child = ctx.spawn('kid', behavior<number, B>({ init: () => 0, receive: (s) => s }));
  ctx.send(child, { type: 'B', b: 'hi' });
  // @ts-expect-error the child accepts B, not A
  ctx.send(child, { type: 'A', a: 1 });
  void self; void notSelf;
}

export function topologyRefsAreTyped(t: Topology): void {
  const r = t.actor('h', 'p', behavior<null, A>({ init: () => null, receive: (s) => s }));
  const ok: ActorRef<A> = r;
  // @ts-expect-error the actor was placed with a behaviour for A
  const bad: ActorRef<B> = r;
  void ok; void bad;
}

// ---- run time ------------------------------------------------------------------------------

describe('ref names', () => {
  it('ref() makes plain {host, path} data that can cross hosts', () => {
    const r = ref<A>('r1', 'nopaxos/replica');
    assert.deepEqual(r, { host: 'r1', path: 'nopaxos/replica' });
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
    assert.equal(refKey(r), 'r1:nopaxos/replica');
    assert.equal(formatRef(r), 'r1/nopaxos/replica');
    assert.equal(formatRef(undefined), '(outside)');
    assert.ok(sameRef(r, { host: 'r1', path: 'nopaxos/replica' }));
    assert.ok(!sameRef(r, { host: 'r2', path: 'nopaxos/replica' }));
    assert.ok(!sameRef(r, undefined));
  });

  it('ref() accepts the allowed characters: letters, digits and _.@$-', () => {
    assert.doesNotThrow(() => ref('host-1.example_2', 'a/B-c/d_e/f.g/$ask1/x@y'));
  });

  for (const [host, path, why] of [
    ['', 'p', 'an empty host'],
    ['a b', 'p', 'a space in the host'],
    ['a/b', 'p', 'a slash in the host'],
    ['h', '', 'an empty path'],
    ['h', '/p', 'a leading slash'],
    ['h', 'p/', 'a trailing slash'],
    ['h', 'a//b', 'an empty segment'],
    ['h', 'a b', 'a space in the path'],
    ['h', 'a:b', 'a colon'],
    ['h', 'é', 'a non-ASCII letter'],
    ['h', 'a\nb', 'a newline'],
  ] as const) {
    it(`ref() refuses ${why}`, () => {
      assert.throws(() => ref(host, path), /bad .*name|may not be empty/);
    });
  }

  it('checkPath and checkName refuse non-strings from untyped callers', () => {
    assert.throws(() => checkPath(undefined as unknown as string), /may not be empty/);
    assert.throws(() => checkName('host', 42 as unknown as string), /bad host name/);
  });

  it('the error names what was wrong', () => {
    assert.throws(() => ref('h', 'ok/not ok'), /bad actor path segment name 'not ok'/);
    assert.throws(() => ref('my host', 'p'), /bad host name 'my host'/);
  });

  it('a topology refuses bad host and actor names as well', () => {
    const t = new Topology('t');
    assert.throws(() => t.host('no good'), /bad host name/);
    t.host('h');
    assert.throws(() => t.actor('h', 'x//y', behavior<null, A>({ init: () => null, receive: (s) => s })), /bad actor path segment/);
  });
});
