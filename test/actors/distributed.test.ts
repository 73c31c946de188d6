// Distributed mode runs one host of a topology per NodeRuntime, here two in one process over in-process endpoints: pingpong completes, sends to hosts outside the topology are dead letters, and the transport's peerDown fires remote death watch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import {
  behavior, runNode, Topology,
  type ActorRef, type DeadLetter, type NodeRuntime,
} from '../../actors/index.ts';
import { pingPongTopology } from '../../apps/pingpong/topology.ts';
import type { PingerState, PongerState } from '../../apps/pingpong/pingpong.ts';
import { LocalNetwork } from '../../transport/memory/local-network.ts';
import type { DeliverFn, Envelope, Transport, TransportEvent, TransportStats } from '../../transport/types.ts';
import { eventually, note, run, scripted, tags, type ScriptMsg, type Seen } from './helpers.ts';

/** An in-process endpoint whose peer events the test emits by hand (LocalNetwork emits none). */
class FakeTransport implements Transport {
  readonly kind = 'memory-local' as const;
  readonly events$ = new Subject<TransportEvent>();
  readonly events = this.events$.asObservable();
  constructor(private readonly inner: Transport) {}
  get host() { return this.inner.host; }
  get guarantees() { return this.inner.guarantees; }
  start(deliver: DeliverFn): Promise<void> { return this.inner.start(deliver); }
  send(env: Envelope): void { this.inner.send(env); }
  stats(): TransportStats { return this.inner.stats(); }
  close(): Promise<void> { return this.inner.close(); }
  emit(ev: TransportEvent): void { this.events$.next(ev); }
}

async function pair(topology: Topology, wrap = false) {
  const net = new LocalNetwork();
  const ta = wrap ? new FakeTransport(net.endpoint('a')) : net.endpoint('a');
  const tb = wrap ? new FakeTransport(net.endpoint('b')) : net.endpoint('b');
  // b first, so that nothing a sends at start-up finds b not yet listening.
  const b = await runNode(topology, 'b', { transport: tb, logLevel: 'silent' });
  const a = await runNode(topology, 'a', { transport: ta, logLevel: 'silent' });
  return { net, a, b, ta, tb, close: () => Promise.all([a.shutdown(), b.shutdown()]) };
}

function twoHosts(): Topology {
  const t = new Topology('two');
  t.host('a');
  t.host('b');
  return t;
}

describe('distributed mode, two nodes in one process', () => {
  it('pingpong completes between two NodeRuntimes over LocalNetwork endpoints', async () => {
    const pp = pingPongTopology({ count: 200, window: 10, retryMs: 1000 });
    const { a, b, close } = await pair(pp.topology);
    try {
      assert.equal(a.mode, 'distributed');
      assert.equal(a.isAlive(pp.ponger), false, 'the ponger lives in the other node');
      assert.ok(b.isAlive(pp.ponger));
      await eventually(() => a.stateOf<PingerState>(pp.pinger)?.finishedAtMs !== undefined, 5000, 'pingpong over two nodes');
      assert.equal(a.stateOf<PingerState>(pp.pinger)!.answered, 200);
      assert.equal(b.stateOf<PongerState>(pp.ponger)!.answered, 200);
      assert.equal(a.transport.stats().sentEnvelopes, 200);
    } finally {
      await close();
    }
  });

  it('a message to a host that is not in the topology is a dead letter, from an actor or from outside', async () => {
    const t = twoHosts();
    const { a, close } = await pair(t);
    try {
      const letters: DeadLetter[] = [];
      a.deadLetters.subscribe((d) => letters.push(d));
      const x = a.spawn('a', 'x', scripted([]));
      const mars = { host: 'mars', path: 'rover' } as ActorRef<ScriptMsg>;
      a.send(mars, note('from-outside'));
      a.send(x, run((ctx) => ctx.send(mars, note('from-x'))));
      await eventually(() => letters.length === 2);
      assert.deepEqual(letters.map((d) => [d.reason, d.from?.path]), [['unknown-host', undefined], ['unknown-host', 'x']]);
      assert.equal(a.transport.stats().sentEnvelopes, 0, 'nothing went to the transport');
    } finally {
      await close();
    }
  });

  it('a message to an unknown actor on the other node is a dead letter there', async () => {
    const { a, b, close } = await pair(twoHosts());
    try {
      const letters: DeadLetter[] = [];
      b.deadLetters.subscribe((d) => letters.push(d));
      a.send({ host: 'b', path: 'nobody' } as ActorRef<ScriptMsg>, note('hello?'));
      await eventually(() => letters.length === 1);
      assert.equal(letters[0]!.reason, 'no-actor');
    } finally {
      await close();
    }
  });

  it('Runtime.ask from outside reaches an actor on the other node and gets its reply', async () => {
    interface Echo { readonly type: 'Echo'; readonly replyTo: ActorRef<{ readonly type: 'Echoed' }> }
    const t = twoHosts();
    const echoRef = t.actor('b', 'echo', behavior<null, Echo>({
      init: () => null,
      receive: (s, m, ctx) => { ctx.send(m.replyTo, { type: 'Echoed' }); return s; },
    }));
    const { a, close } = await pair(t);
    try {
      const reply = await a.ask<Echo, { readonly type: 'Echoed' }>(echoRef, (replyTo) => ({ type: 'Echo', replyTo }), 1000);
      assert.deepEqual(reply, { type: 'Echoed' });
    } finally {
      await close();
    }
  });

  it("remote death watch fires when the transport reports the watched actor's host down", async () => {
    const t = twoHosts();
    const target = t.actor('b', 'target', scripted([]));
    const { a, ta, close } = await pair(t, true);
    try {
      const log: Seen[] = [];
      const w = a.spawn('a', 'watcher', scripted(log));
      const bystander: Seen[] = [];
      a.spawn('a', 'bystander', scripted(bystander));
      a.send(w, run((ctx) => ctx.watch(target, note('target-lost'))));
      await eventually(() => a.stateOf<number>(w) === 1);
      (ta as FakeTransport).emit({ type: 'peerUp', host: 'b' });
      (ta as FakeTransport).emit({ type: 'peerDown', host: 'c', reason: 'not watched' });
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(log.length, 0, 'only the loss of host b concerns the watcher');
      (ta as FakeTransport).emit({ type: 'peerDown', host: 'b', reason: 'heartbeat timeout' });
      await eventually(() => log.length === 1);
      assert.deepEqual(tags(log), ['target-lost']);
      assert.equal(bystander.length, 0);
      (ta as FakeTransport).emit({ type: 'peerDown', host: 'b', reason: 'again' });
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(log.length, 1, 'a watch fires once');
    } finally {
      await close();
    }
  });

  it('unwatch of a remote actor cancels its death notice', async () => {
    const t = twoHosts();
    const target = t.actor('b', 'target', scripted([]));
    const { a, ta, close } = await pair(t, true);
    try {
      const log: Seen[] = [];
      const w = a.spawn('a', 'watcher', scripted(log));
      a.send(w, run((ctx) => { ctx.watch(target, note('target-lost')); ctx.unwatch(target); }));
      await eventually(() => a.stateOf<number>(w) === 1);
      (ta as FakeTransport).emit({ type: 'peerDown', host: 'b', reason: 'gone' });
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(log.length, 0);
    } finally {
      await close();
    }
  });

  it('watching two actors on one remote host gives both notices when the host is lost', async () => {
    const t = twoHosts();
    const t1 = t.actor('b', 't1', scripted([]));
    const t2 = t.actor('b', 't2', scripted([]));
    const { a, ta, close } = await pair(t, true);
    try {
      const log: Seen[] = [];
      const w = a.spawn('a', 'watcher', scripted(log));
      a.send(w, run((ctx) => { ctx.watch(t1, note('t1-lost')); ctx.watch(t2, note('t2-lost')); }));
      await eventually(() => a.stateOf<number>(w) === 1);
      (ta as FakeTransport).emit({ type: 'peerDown', host: 'b', reason: 'gone' });
      await eventually(() => log.length >= 2, 500, 'two notices');
      assert.deepEqual(tags(log).sort(), ['t1-lost', 't2-lost']);
    } finally {
      await close();
    }
  });

  it('a node refuses a host it does not have, or a transport that speaks for another host', async () => {
    const t = twoHosts();
    const net = new LocalNetwork();
    await assert.rejects(runNode(t, 'zzz', { transport: net.endpoint('zzz'), logLevel: 'silent' }), /has no host 'zzz'/);
    await assert.rejects(runNode(t, 'a', { transport: net.endpoint('b'), logLevel: 'silent' }), /speaks for host 'b', not 'a'/);
  });
});

export type { NodeRuntime };
