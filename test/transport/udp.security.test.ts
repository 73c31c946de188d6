// Hostile and broken datagrams against the UDP transport: each is refused under its own reason,
// nothing of it reaches the receiver, nothing crashes, and a good peer is heard afterwards. Also
// the send side's limits (too large, closed, unknown host), coalescing, rate-limited logs and IPv6.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { FrameCodec } from '../../transport/frame.ts';
import { SchemaRegistry } from '../../transport/schemas.ts';
import type { Envelope, RejectReason, TransportEvent } from '../../transport/types.ts';
import { framedBytes, headerPrefix, sealDatagram } from '../../transport/udp/datagram.ts';
import { UdpTransport, type UdpTransportOptions } from '../../transport/udp/udp-transport.ts';

const secret = Buffer.from('security-test-secret-0123456789');
const loopback = '127.0.0.1';

const envTo = (to: string, msg: Envelope['msg'], from = 'a'): Envelope =>
  ({ to: { host: to, path: 'svc' }, from: { host: from, path: 'client' }, msg });

async function waitFor(cond: () => boolean, maxMs = 2000, stepMs = 5): Promise<boolean> {
  for (let waited = 0; waited < maxMs && !cond(); waited += stepMs) await sleep(stepMs);
  return cond();
}

/** A raw dgram socket on loopback that records what it receives. */
async function rawSocket(type: 'udp4' | 'udp6' = 'udp4', address = loopback): Promise<{ socket: Socket; port: number; got: Buffer[] }> {
  const socket = createSocket(type);
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  return { socket, port: socket.address().port, got };
}

function sendRaw(socket: Socket, bytes: Buffer, port: number, address = loopback): Promise<void> {
  return new Promise((resolve, reject) => socket.send(bytes, port, address, (err) => (err ? reject(err) : resolve())));
}

/**
 * The receiver 'b', a good sender 'a' that knows it, and a raw socket for the attacker.
 * Every scenario ends by checking that 'a' still gets through.
 */
async function setUp(bOptions: Partial<UdpTransportOptions> = {}) {
  const received: Envelope[] = [];
  const events: TransportEvent[] = [];
  const b = new UdpTransport({ host: 'b', listen: { port: 0 }, secret, ...bOptions });
  b.events.subscribe((e) => events.push(e));
  await b.start((env) => received.push(env));
  const a = new UdpTransport({ host: 'a', listen: { port: 0 }, secret, peers: { b: { address: loopback, port: b.port } } });
  await a.start(() => {});
  const raw = await rawSocket();
  const closables: { close(): unknown }[] = [a, b];
  return {
    a, b, raw, received, events,
    /** Another transport, closed with the rest. */
    async transport(opts: UdpTransportOptions): Promise<UdpTransport> {
      const t = new UdpTransport(opts);
      closables.push(t);
      await t.start(() => {});
      return t;
    },
    /** A real datagram from 'a' to 'b', caught on its way by pointing 'a' at the raw socket. */
    async capture(msg: Envelope['msg'] & Record<string, unknown>): Promise<Buffer> {
      const before = raw.got.length;
      a.setPeer('b', { address: loopback, port: raw.port });
      a.send(envTo('b', msg));
      assert.ok(await waitFor(() => raw.got.length > before), 'nothing captured');
      a.setPeer('b', { address: loopback, port: b.port });
      return raw.got[before]!;
    },
    async expectRejected(reason: RejectReason, count = 1): Promise<void> {
      assert.ok(await waitFor(() => (b.stats().rejected[reason] ?? 0) >= count),
        `expected ${count} rejected as '${reason}', stats: ${JSON.stringify(b.stats().rejected)}`);
    },
    async expectGoodPeerHeard(): Promise<void> {
      const before = received.length;
      a.send(envTo('b', { type: 'StillAlive' }));
      assert.ok(await waitFor(() => received.length > before), 'the good peer was not heard afterwards');
      assert.equal(received.at(-1)!.msg.type, 'StillAlive');
    },
    async close(): Promise<void> {
      raw.socket.close();
      await Promise.all(closables.map((c) => c.close()));
    },
  };
}

describe('udp transport: hostile datagrams', () => {
  it('refuses garbage: an unknown version as undecodable, version 1 with a bad tag as unauthenticated', async () => {
    const t = await setUp();
    try {
      await sendRaw(t.raw.socket, Buffer.alloc(100, 'x'), t.b.port);
      await t.expectRejected('undecodable');
      const lookalike = Buffer.alloc(200, 0x5a);
      lookalike[0] = 1;
      await sendRaw(t.raw.socket, lookalike, t.b.port);
      await t.expectRejected('unauthenticated');
      assert.equal(t.received.length, 0);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses a truncated datagram, including an empty one', async () => {
    const t = await setUp();
    try {
      const whole = await t.capture({ type: 'Hello' });
      await sendRaw(t.raw.socket, whole.subarray(0, 20), t.b.port);
      await sendRaw(t.raw.socket, Buffer.alloc(0), t.b.port);
      await t.expectRejected('truncated', 2);
      assert.equal(t.received.length, 0);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses a datagram tagged with another secret, and emits a rejected event', async () => {
    const t = await setUp();
    try {
      const intruder = await t.transport({
        host: 'a', listen: { port: 0 }, secret: Buffer.from('not-the-cluster-secret-at-all'),
        peers: { b: { address: loopback, port: t.b.port } },
      });
      intruder.send(envTo('b', { type: 'Hello' }));
      await t.expectRejected('unauthenticated');
      assert.equal(t.received.length, 0);
      assert.ok(t.events.some((e) => e.type === 'rejected' && e.reason === 'unauthenticated'));
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses a valid datagram with any one byte flipped', async () => {
    const t = await setUp();
    try {
      const valid = await t.capture({ type: 'Transfer', amount: 100 });
      // A byte of the header, of the payload and of the tag.
      for (const at of [1, valid.length - 20, valid.length - 1]) {
        const forged = Buffer.from(valid);
        forged[at]! ^= 0x01;
        await sendRaw(t.raw.socket, forged, t.b.port);
      }
      await t.expectRejected('unauthenticated', 3);
      assert.equal(t.received.length, 0);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses a datagram over maxDatagramBytes before looking at it', async () => {
    const t = await setUp();
    try {
      await sendRaw(t.raw.socket, Buffer.alloc(2000, 1), t.b.port);
      await t.expectRejected('oversized');
      assert.equal(t.received.length, 0);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses an authentic datagram whose message fails its registered schema', async () => {
    const schemas = new SchemaRegistry(false).add('Transfer', Type.Object({ type: Type.Literal('Transfer'), amount: Type.Integer({ minimum: 0 }) }));
    const t = await setUp({ frames: new FrameCodec({ schemas }) });
    try {
      // 'a' has no schemas and so sends what 'b' must refuse; the good message shares the datagram.
      t.a.send(envTo('b', { type: 'Transfer', amount: 5 } as never));
      t.a.send(envTo('b', { type: 'Transfer', amount: -5 } as never));
      await t.expectRejected('schema');
      assert.equal(t.received.length, 0, 'a datagram is refused whole');
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses an authentic datagram whose frame does not decode', async () => {
    const t = await setUp();
    try {
      // Made with the secret, as a buggy or newer peer would: the tag passes, the frame does not.
      const frame = Buffer.from('J[[not json');
      const forged = sealDatagram(secret, headerPrefix('a', 'b', 1), 1, [frame], 0, 1, framedBytes(frame));
      await sendRaw(t.raw.socket, forged, t.b.port);
      await t.expectRejected('undecodable');
      assert.equal(t.received.length, 0);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('refuses an authentic datagram meant for another host as misrouted', async () => {
    const t = await setUp();
    try {
      // A sender whose address book wrongly puts host 'c' at b's port.
      const confused = await t.transport({ host: 'x', listen: { port: 0 }, secret, peers: { c: { address: loopback, port: t.b.port } } });
      confused.send(envTo('c', { type: 'Hello' }, 'x'));
      await t.expectRejected('misrouted');
      assert.equal(t.received.length, 0);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });

  it('delivers a datagram once and refuses its replays, and those of an earlier incarnation', async () => {
    const t = await setUp();
    try {
      const valid = await t.capture({ type: 'Transfer', amount: 100 });
      await sendRaw(t.raw.socket, valid, t.b.port);
      assert.ok(await waitFor(() => t.received.length === 1), 'the original was not delivered');
      await sendRaw(t.raw.socket, valid, t.b.port);
      await sendRaw(t.raw.socket, valid, t.b.port);
      await t.expectRejected('replayed', 2);
      assert.equal(t.received.length, 1);

      // 'a' restarts (a new incarnation); the old incarnation's datagram no longer passes.
      const older = await t.capture({ type: 'Transfer', amount: 7 });
      const a2 = await t.transport({ host: 'a', listen: { port: 0 }, secret, peers: { b: { address: loopback, port: t.b.port } } });
      a2.send(envTo('b', { type: 'Reborn' }));
      assert.ok(await waitFor(() => t.received.some((e) => e.msg.type === 'Reborn')));
      await sendRaw(t.raw.socket, older, t.b.port);
      await t.expectRejected('replayed', 3);
      assert.ok(!t.received.some((e) => (e.msg as { amount?: number }).amount === 7));
      assert.ok(t.events.filter((e) => e.type === 'peerUp' && e.host === 'a').length >= 2, 'peerUp for each incarnation');
    } finally { await t.close(); }
  });

  it('logs a flood of bad datagrams at most once per reason and source per second', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line); } });
    const t = await setUp({ logger });
    try {
      for (let i = 0; i < 50; i++) await sendRaw(t.raw.socket, Buffer.alloc(10), t.b.port);
      await t.expectRejected('truncated', 50);
      const about = lines.filter((l) => l.includes('"truncated"'));
      assert.ok(about.length >= 1 && about.length <= 2, `${about.length} log lines for 50 truncated datagrams`);
      await t.expectGoodPeerHeard();
    } finally { await t.close(); }
  });
});

describe('udp transport: sending', () => {
  it('packs 1000 small envelopes sent in one turn into far fewer datagrams', async () => {
    const t = await setUp();
    try {
      for (let i = 0; i < 1000; i++) t.a.send(envTo('b', { type: 'Seq', i } as never));
      assert.ok(await waitFor(() => t.a.stats().sentEnvelopes === 1000));
      const { sentFrames, sentBytes } = t.a.stats();
      assert.ok(sentFrames <= 50, `${sentFrames} datagrams for 1000 envelopes`);
      assert.ok(sentBytes / sentFrames <= 1472);
      await waitFor(() => t.received.length === 1000, 1000);
      assert.ok(t.received.length >= 900, `only ${t.received.length} of 1000 arrived on loopback`);
    } finally { await t.close(); }
  });

  it('drops an envelope too large for one datagram, and still sends the rest', async () => {
    const t = await setUp();
    try {
      t.a.send(envTo('b', { type: 'Big', blob: 'z'.repeat(1500) } as never));
      t.a.send(envTo('b', { type: 'Small' }));
      assert.equal(t.a.stats().dropped['too-large'], 1);
      assert.ok(await waitFor(() => t.received.length === 1));
      assert.equal(t.received[0]!.msg.type, 'Small');
    } finally { await t.close(); }
  });

  it('counts sends to an unknown host and after close as drops, without throwing', async () => {
    const t = await setUp();
    const drops: TransportEvent[] = [];
    t.a.events.subscribe((e) => { if (e.type === 'dropped') drops.push(e); });
    try {
      assert.doesNotThrow(() => t.a.send(envTo('nowhere', { type: 'Lost' })));
      assert.equal(t.a.stats().dropped['unknown-host'], 1);
      assert.deepEqual(drops, [{ type: 'dropped', reason: 'unknown-host', to: 'nowhere', count: 1 }]);
    } finally { await t.close(); }
    assert.doesNotThrow(() => t.a.send(envTo('b', { type: 'Late' })));
    assert.equal(t.a.stats().dropped['closed'], 1);
    await t.a.close(); // idempotent
  });

  it('sends what was queued just before close()', async () => {
    const t = await setUp();
    try {
      t.a.send(envTo('b', { type: 'LastWords' }));
      await t.a.close();
      assert.ok(await waitFor(() => t.received.length === 1));
      assert.equal(t.a.stats().sentEnvelopes, 1);
    } finally { await t.close(); }
  });
});

describe('udp transport: lifecycle', () => {
  it('closes cleanly while still starting, and refuses to start again', async () => {
    const t = new UdpTransport({ host: 'a', listen: { port: 0 }, secret });
    const started = t.start(() => {});
    await t.close();
    await started;
    await assert.rejects(t.start(() => {}), /cannot start: it is closed/);
  });

  it('rejects start() when the port is taken, leaving nothing open', async () => {
    const first = new UdpTransport({ host: 'a', listen: { port: 0 }, secret });
    await first.start(() => {});
    try {
      const second = new UdpTransport({ host: 'b', listen: { port: first.port }, secret });
      await assert.rejects(second.start(() => {}), { code: 'EADDRINUSE' });
      await second.close();
    } finally { await first.close(); }
  });

  it('refuses bad configuration at construction', () => {
    assert.throws(() => new UdpTransport({ host: 'a', listen: { port: 0 }, secret: Buffer.from('short') }), RangeError);
    assert.throws(() => new UdpTransport({ host: 'a', listen: { port: 0 }, secret, maxDatagramBytes: 70_000 }), RangeError);
    assert.throws(() => new UdpTransport({ host: 'h'.repeat(300), listen: { port: 0 }, secret }), RangeError);
  });
});

describe('udp transport: IPv6', () => {
  it('exchanges envelopes over ::1', async (ctx) => {
    const probe = await rawSocket('udp6', '::1').catch(() => undefined);
    if (probe === undefined) return ctx.skip('::1 is not available on this machine');
    probe.socket.close();
    const received: Envelope[] = [];
    const b = new UdpTransport({ host: 'b', listen: { address: '::1', port: 0 }, secret });
    await b.start((env) => received.push(env));
    const a = new UdpTransport({ host: 'a', listen: { address: '::1', port: 0 }, secret, peers: { b: { address: '::1', port: b.port }, v4: { address: loopback, port: b.port } } });
    await a.start(() => {});
    try {
      a.send(envTo('b', { type: 'Hello6' }));
      assert.ok(await waitFor(() => received.length === 1));
      a.send(envTo('v4', { type: 'WrongFamily' }));
      assert.equal(a.stats().dropped['address-family'], 1);
    } finally { await Promise.all([a.close(), b.close()]); }
  });
});
