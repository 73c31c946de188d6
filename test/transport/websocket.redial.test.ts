// A host whose link to a peer is waiting out a long reconnect backoff dials at once when that
// peer restarts and dials in: the first message after a restart does not wait for the backoff.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../transport/types.ts';
import { eventually, makeTransport, sleep } from './websocket-helpers.ts';

const env = (to: string, from: string, type: string): Envelope => ({ to: { host: to, path: 'x' }, from: { host: from, path: 'y' }, msg: { type } });

describe('websocket redial', () => {
  it('skips the rest of a backoff when the peer dials in after a restart', { timeout: 20_000 }, async () => {
    const slow = { reconnect: { initialMs: 10_000, maxMs: 10_000, factor: 1, jitter: 0 } };
    const a = makeTransport('a', slow);
    const gotA: string[] = [];
    await a.start((e) => { gotA.push(e.msg.type); });
    let b = makeTransport('b', slow);
    const gotB: string[] = [];
    await b.start((e) => { gotB.push(e.msg.type); });
    a.setPeer('b', { address: '127.0.0.1', port: b.port });
    b.setPeer('a', { address: '127.0.0.1', port: a.port });
    try {
      a.send(env('b', 'a', 'First'));
      assert.ok(await eventually(() => gotB.length === 1, 3000), 'first message lost');
      const portB = b.port;
      await b.close();
      await sleep(100);
      a.send(env('b', 'a', 'WhileDown')); // a's link now fails and backs off for 10 s
      await sleep(300);
      b = makeTransport('b', { ...slow, listen: { address: '127.0.0.1', port: portB } });
      const gotB2: string[] = [];
      await b.start((e) => { gotB2.push(e.msg.type); });
      b.setPeer('a', { address: '127.0.0.1', port: a.port });
      b.send(env('a', 'b', 'Hello')); // b dials a and proves the secret
      assert.ok(await eventually(() => gotA.includes('Hello'), 3000), 'the restarted peer could not reach a');
      a.send(env('b', 'a', 'AfterRestart'));
      assert.ok(await eventually(() => gotB2.includes('AfterRestart'), 3000), 'a waited out its backoff');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
