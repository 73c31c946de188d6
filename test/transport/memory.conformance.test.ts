// The memory transports pass the conformance suite every transport passes: the simulated network on virtual time (plain, and with jitter that reorders) and the in-process network in real time, each with a restart of b on the same host name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { transportConformance, type TransportPair } from './conformance.ts';
import { SimScheduler } from '../../actors/scheduler.ts';
import { seededRandom } from '../../actors/random.ts';
import { SimNetwork, type LinkOptions } from '../../transport/memory/sim-network.ts';
import { LocalNetwork } from '../../transport/memory/local-network.ts';
import type { Envelope, Transport } from '../../transport/types.ts';

/** Run every event due in the next `ms` of virtual time, then move the clock there. */
function advance(scheduler: SimScheduler, ms: number): void {
  const until = scheduler.now() + ms;
  while (scheduler.step(until)) { /* run */ }
  scheduler.advanceTo(until);
}

function simPair(link: LinkOptions = {}, seed = 1) {
  return async (): Promise<TransportPair> => {
    const scheduler = new SimScheduler();
    const net = new SimNetwork({ clock: scheduler, random: seededRandom(seed, 'conformance').next, defaults: link });
    const pair: TransportPair = {
      a: net.endpoint('a'),
      b: net.endpoint('b'),
      settle: async (ms) => advance(scheduler, ms),
      async restartB(deliver) {
        await pair.b.close();
        const fresh = net.replaceEndpoint('b');
        await fresh.start(deliver);
        pair.b = fresh;
        return fresh;
      },
      close: async () => { await Promise.all([pair.a.close(), pair.b.close()]); },
    };
    return pair;
  };
}

async function localPair(): Promise<TransportPair> {
  const net = new LocalNetwork();
  const pair: TransportPair = {
    a: net.endpoint('a'),
    b: net.endpoint('b'),
    settle: (ms) => new Promise((r) => setTimeout(r, ms)),
    async restartB(deliver) {
      await pair.b.close();
      const fresh = net.replaceEndpoint('b');
      await fresh.start(deliver);
      pair.b = fresh;
      return fresh;
    },
    close: async () => { await Promise.all([pair.a.close(), pair.b.close()]); },
  };
  return pair;
}

transportConformance('memory-sim', simPair());
transportConformance('memory-sim with jitter', simPair({ latencyMs: 1, jitterMs: 2 }));
transportConformance('memory-local', localPair);

describe('memory transports beyond the suite', () => {
  const env = (to: string, i: number): Envelope => ({ to: { host: to, path: 'p' }, from: { host: 'a', path: 'q' }, msg: { type: 'N', i } as never });
  const collect = () => {
    const got: number[] = [];
    return { got, deliver: (e: Envelope) => { got.push((e.msg as unknown as { i: number }).i); } };
  };

  it('memory-sim: a replaced endpoint receives what was in flight to the old one; the old one is closed', async () => {
    const pair = await simPair({ latencyMs: 5 })();
    const old = collect();
    await pair.a.start(() => {});
    const oldB = pair.b;
    await oldB.start(old.deliver);
    pair.a.send(env('b', 1));
    await pair.settle(1);
    const fresh = collect();
    const b2 = await pair.restartB(fresh.deliver);
    await pair.settle(10);
    assert.notEqual(b2, oldB);
    assert.deepEqual(old.got, []);
    assert.deepEqual(fresh.got, [1]);
    assert.equal(b2.stats().receivedEnvelopes, 1);
    assert.equal(oldB.stats().receivedEnvelopes, 0);
  });

  it('memory-sim: an envelope that arrives at a closed endpoint is counted as lost, not delivered', async () => {
    const scheduler = new SimScheduler();
    const net = new SimNetwork({ clock: scheduler, random: seededRandom(1).next });
    const a: Transport = net.endpoint('a');
    const b = net.endpoint('b');
    await a.start(() => {});
    await b.start(() => {});
    a.send(env('b', 1));
    await b.close();
    advance(scheduler, 1);
    const ab = net.stats().find((s) => s.from === 'a' && s.to === 'b')!;
    assert.equal(ab.delivered, 0);
    assert.equal(ab.dropped['not-listening'], 1);
  });

  it('memory-local: what is sent to a host that crashes before delivery is counted as lost', async () => {
    const net = new LocalNetwork();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    const inB = collect();
    await a.start(() => {});
    await b.start(inB.deliver);
    a.send(env('b', 1));
    net.setHostUp('b', false);
    await new Promise((r) => setImmediate(r));
    a.send(env('b', 2));
    net.setHostUp('b', true);
    await b.close();
    a.send(env('b', 3));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(inB.got, []);
    assert.deepEqual(a.stats().dropped, { 'host-down': 2, 'not-listening': 1 });
  });

  it('memory-local: partitions drop and count until healed; order is kept per sender and receiver', async () => {
    const net = new LocalNetwork();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    const inB = collect();
    await a.start(() => {});
    await b.start(inB.deliver);
    net.cut('a', 'b');
    a.send(env('b', 0));
    net.heal();
    for (let i = 1; i <= 100; i++) a.send(env('b', i));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(inB.got, Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal(a.stats().dropped.partition, 1);
  });
});
