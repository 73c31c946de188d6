// Delivery behaviour of the WebSocket transport beyond the conformance suite: envelopes sent
// while a peer is down wait (up to the send-buffer limit) and go out in order once it is up;
// the excess is dropped and counted; sends in one event-loop turn share frames; peer events
// follow the connection.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Envelope, TransportEvent } from '../../transport/types.ts';
import { eventually, LOOPBACK, makeTransport } from './websocket-helpers.ts';

const TEST_TIMEOUT_MS = 10_000;

const seq = (i: number): Envelope => ({ to: { host: 'b', path: 'svc' }, from: { host: 'a', path: 'c' }, msg: { type: 'Seq', i } as never });

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('websocket transport delivery', { timeout: TEST_TIMEOUT_MS }, () => {
  it('holds envelopes while the peer is down, drops beyond the limit, and sends the rest in order once it is up', async () => {
    const port = await freePort();
    const a = makeTransport('a', { sendBufferLimitBytes: 20_000, peers: { b: { address: LOOPBACK, port } } });
    await a.start(() => {});
    const got: number[] = [];
    const b = makeTransport('b', { listen: { address: LOOPBACK, port } });
    try {
      // Several turns, so that several frames wait in the queue.
      for (let turn = 0; turn < 20; turn++) {
        for (let i = 0; i < 100; i++) a.send(seq(turn * 100 + i));
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(await eventually(() => (a.stats().dropped['backpressure'] ?? 0) > 0), 'nothing dropped beyond the limit');
      await b.start((env) => got.push((env.msg as unknown as { i: number }).i));
      const dropped = a.stats().dropped['backpressure']!;
      assert.ok(await eventually(() => got.length === 2000 - dropped), `got ${got.length}, dropped ${dropped}`);
      assert.deepEqual(got, [...got].sort((x, y) => x - y), 'held envelopes out of order');
      assert.equal(got[0], 0, 'the oldest envelopes should be the ones kept');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('coalesces the sends of one event-loop turn into one frame', async () => {
    const b = makeTransport('b');
    let got = 0;
    await b.start(() => { got++; });
    const a = makeTransport('a', { peers: { b: { address: LOOPBACK, port: b.port } } });
    await a.start(() => {});
    try {
      a.send(seq(-1));
      assert.ok(await eventually(() => got === 1));
      const framesBefore = a.stats().sentFrames;
      for (let i = 0; i < 500; i++) a.send(seq(i));
      assert.ok(await eventually(() => got === 501));
      assert.equal(a.stats().sentFrames - framesBefore, 1);
      assert.equal(b.stats().receivedEnvelopes, 501);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports a peer up and down as its connection comes and goes, and counts sends after close', async () => {
    const b = makeTransport('b');
    await b.start(() => {});
    const a = makeTransport('a', { peers: { b: { address: LOOPBACK, port: b.port } } });
    const events: TransportEvent[] = [];
    a.events.subscribe((e) => events.push(e));
    await a.start(() => {});
    try {
      a.send(seq(0));
      assert.ok(await eventually(() => events.some((e) => e.type === 'peerUp' && e.host === 'b')));
      await b.close();
      assert.ok(await eventually(() => events.some((e) => e.type === 'peerDown' && e.host === 'b')));
    } finally {
      await a.close();
      await b.close();
    }
    a.send(seq(1));
    assert.equal(a.stats().dropped['closed'], 1);
  });
});
