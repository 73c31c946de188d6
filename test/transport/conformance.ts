// One conformance suite for every transport. Each transport's test file calls
// `transportConformance` with a factory for a connected pair of endpoints; the suite checks the
// promises every transport makes (delivery of intact envelopes, sender addresses, counting,
// no throw on bad destinations) and those its `guarantees` claim (no loss, FIFO order).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope, Transport } from '../../transport/types.ts';

export interface TransportPair {
  a: Transport;
  b: Transport;
  /** Let the transports work for `ms` (real time, or virtual time in sim). */
  settle(ms: number): Promise<void>;
  /** Stop b and start a new b on the same address; resolves to the new endpoint, started. */
  restartB(deliver: (env: Envelope, fromHost: string) => void): Promise<Transport>;
  close(): Promise<void>;
}

export type PairFactory = () => Promise<TransportPair>;

function collector() {
  const got: { env: Envelope; fromHost: string }[] = [];
  return { got, deliver: (env: Envelope, fromHost: string) => { got.push({ env, fromHost }); } };
}

async function waitFor(pair: TransportPair, cond: () => boolean, maxMs: number, stepMs = 10): Promise<boolean> {
  for (let waited = 0; waited <= maxMs; waited += stepMs) {
    if (cond()) return true;
    await pair.settle(stepMs);
  }
  return cond();
}

const env = (to: string, from: string, msg: Envelope['msg']): Envelope =>
  ({ to: { host: to, path: 'svc/echo' }, from: { host: from, path: 'client' }, msg });

export function transportConformance(name: string, makePair: PairFactory): void {
  describe(`transport conformance: ${name}`, () => {
    it('delivers an envelope intact, with its sender', async () => {
      const pair = await makePair();
      const inB = collector();
      await pair.a.start(() => {});
      await pair.b.start(inB.deliver);
      try {
        const sent = env(pair.b.host, pair.a.host, { type: 'Hello', n: 7, text: 'héllo', list: [1, 2, { x: null }] } as never);
        pair.a.send(sent);
        assert.ok(await waitFor(pair, () => inB.got.length >= 1, 3000), 'nothing arrived');
        assert.deepEqual(inB.got[0]!.env, sent);
        assert.equal(inB.got[0]!.fromHost, pair.a.host);
      } finally { await pair.close(); }
    });

    it('keeps Map, Set, BigInt and Date in messages', async () => {
      const pair = await makePair();
      const inB = collector();
      await pair.a.start(() => {});
      await pair.b.start(inB.deliver);
      try {
        const msg = { type: 'Rich', m: new Map([['k', 1]]), s: new Set([1, 2]), big: 2n ** 64n, at: new Date(0) };
        pair.a.send(env(pair.b.host, pair.a.host, msg as never));
        assert.ok(await waitFor(pair, () => inB.got.length >= 1, 3000), 'nothing arrived');
        assert.deepEqual(inB.got[0]!.env.msg, msg);
      } finally { await pair.close(); }
    });

    it('works in both directions', async () => {
      const pair = await makePair();
      const inA = collector();
      const inB = collector();
      await pair.a.start(inA.deliver);
      await pair.b.start(inB.deliver);
      try {
        pair.a.send(env(pair.b.host, pair.a.host, { type: 'Ping' }));
        pair.b.send(env(pair.a.host, pair.b.host, { type: 'Pong' }));
        assert.ok(await waitFor(pair, () => inA.got.length >= 1 && inB.got.length >= 1, 3000));
        assert.equal(inA.got[0]!.env.msg.type, 'Pong');
        assert.equal(inB.got[0]!.env.msg.type, 'Ping');
      } finally { await pair.close(); }
    });

    it('delivers a burst as its guarantees promise (loss, order, no duplicates) and counts it', async () => {
      const pair = await makePair();
      const inB = collector();
      await pair.a.start(() => {});
      await pair.b.start(inB.deliver);
      const n = 2000;
      try {
        // Paced in slices so that even a lossy transport on a busy loopback delivers most of it.
        for (let i = 0; i < n; i++) {
          pair.a.send(env(pair.b.host, pair.a.host, { type: 'Seq', i } as never));
          if (i % 100 === 99) await pair.settle(2);
        }
        const g = pair.a.guarantees;
        await waitFor(pair, () => inB.got.length >= n, 5000);
        if (!g.reliable) await pair.settle(100);
        const seen = inB.got.map((d) => (d.env.msg as unknown as { i: number }).i);
        assert.equal(new Set(seen).size, seen.length, 'duplicates delivered');
        if (g.reliable) assert.equal(seen.length, n, `lost ${n - seen.length} of ${n} on a reliable transport`);
        else assert.ok(seen.length >= n * 0.5, `only ${seen.length} of ${n} arrived`);
        if (g.fifo) assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'order not kept on a FIFO transport');
        assert.equal(pair.a.stats().sentEnvelopes, n);
        assert.equal(pair.b.stats().receivedEnvelopes, seen.length);
      } finally { await pair.close(); }
    });

    it('counts, and does not throw on, a send to a host it does not know', async () => {
      const pair = await makePair();
      await pair.a.start(() => {});
      await pair.b.start(() => {});
      try {
        assert.doesNotThrow(() => pair.a.send(env('nowhere', pair.a.host, { type: 'Lost' })));
        await pair.settle(20);
        const dropped = Object.values(pair.a.stats().dropped).reduce((x, y) => x + y, 0);
        assert.equal(dropped, 1);
      } finally { await pair.close(); }
    });

    it('reaches a peer that restarted on the same address', async () => {
      const pair = await makePair();
      await pair.a.start(() => {});
      const before = collector();
      await pair.b.start(before.deliver);
      try {
        pair.a.send(env(pair.b.host, pair.a.host, { type: 'Before' }));
        assert.ok(await waitFor(pair, () => before.got.length === 1, 3000), 'first message did not arrive');
        const after = collector();
        const b2 = await pair.restartB(after.deliver);
        // Keep sending until the new endpoint hears us: reconnection may take a few tries.
        const ok = await waitFor(pair, () => {
          pair.a.send(env(b2.host, pair.a.host, { type: 'After' }));
          return after.got.length > 0;
        }, 8000, 50);
        assert.ok(ok, 'the restarted peer never received anything');
        assert.equal(after.got[0]!.env.msg.type, 'After');
      } finally { await pair.close(); }
    });

    it('closes idempotently and ignores sends after close', async () => {
      const pair = await makePair();
      await pair.a.start(() => {});
      await pair.b.start(() => {});
      await pair.close();
      await pair.a.close();
      assert.doesNotThrow(() => pair.a.send(env(pair.b.host, pair.a.host, { type: 'Late' })));
    });
  });
}
