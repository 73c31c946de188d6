// Hostile and broken peers against the WebSocket transport. Goal: whatever arrives from
// outside (no handshake, a wrong or replayed handshake, garbage, oversized or misaddressed
// frames, messages failing their schema, dead peers) is refused and counted under the right
// reason, reaches no actor, and leaves the node serving its good peers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { FrameCodec } from '../../transport/frame.ts';
import { SchemaRegistry } from '../../transport/schemas.ts';
import type { Envelope, RejectReason, TransportEvent } from '../../transport/types.ts';
import { clientMac, encodeHandshake, parseHandshake, serverMac } from '../../transport/websocket/handshake.ts';
import { WebSocketTransport, type WebSocketTransportOptions } from '../../transport/websocket/websocket-transport.ts';
import { eventually, LOOPBACK, makeTransport, SECRET, sleep } from './websocket-helpers.ts';

const TEST_TIMEOUT_MS = 10_000;
const frames = new FrameCodec();

const envTo = (host: string, msg: Envelope['msg']): Envelope =>
  ({ to: { host, path: 'svc/echo' }, from: { host: 'spy', path: 'raw' }, msg });

/** A raw ws client that speaks the handshake by hand (or fails to, on purpose). */
class RawPeer {
  readonly inbox: Buffer[] = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.inbox.push(data as Buffer));
    ws.on('close', (code) => { this.closeCode = code; });
    ws.on('error', () => {});
  }

  static async connect(port: number, opts: ClientOptions = {}): Promise<RawPeer> {
    const peer = new RawPeer(new WebSocket(`ws://${LOOPBACK}:${port}/`, { perMessageDeflate: false, ...opts }));
    await new Promise((resolve, reject) => {
      peer.ws.once('open', resolve);
      peer.ws.once('error', reject);
    });
    return peer;
  }

  async next(maxMs = 2000): Promise<Buffer> {
    assert.ok(await eventually(() => this.inbox.length > 0, maxMs), 'no message from the server');
    return this.inbox.shift()!;
  }

  /** Run the client side of the handshake; returns the hello bytes sent (for replay tests). */
  async handshake(secret: Buffer, clientHost: string, serverHost: string): Promise<Buffer> {
    const challenge = parseHandshake(await this.next());
    assert.ok(challenge.kind === 'ok' && challenge.msg.t === 'challenge', 'expected a challenge');
    const clientNonce = randomBytes(16);
    const mac = clientMac(secret, challenge.msg.serverNonce, clientNonce, clientHost, serverHost);
    const hello = encodeHandshake({ t: 'hello', host: clientHost, clientNonce, mac });
    this.ws.send(hello);
    if (secret.equals(SECRET)) {
      const welcome = parseHandshake(await this.next());
      assert.ok(welcome.kind === 'ok' && welcome.msg.t === 'welcome', 'expected a welcome');
      assert.ok(welcome.msg.mac.equals(serverMac(secret, clientNonce, challenge.msg.serverNonce, serverHost)), 'server MAC wrong');
    }
    return hello;
  }

  async closed(maxMs = 2000): Promise<boolean> {
    return eventually(() => this.closeCode !== null, maxMs);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The node under attack ('b'), a good peer ('a') sending to it, and what b delivered. */
interface Bench {
  b: WebSocketTransport;
  a: WebSocketTransport;
  delivered: Envelope[];
  events: TransportEvent[];
  goodMessages: number;
}

async function bench(extraB: Partial<WebSocketTransportOptions> = {}, goodMsg: Envelope['msg'] = { type: 'Good' }): Promise<Bench & { goodStillWorks(): Promise<void>; close(): Promise<void> }> {
  const b = makeTransport('b', extraB);
  const delivered: Envelope[] = [];
  const events: TransportEvent[] = [];
  b.events.subscribe((e) => events.push(e));
  await b.start((env) => delivered.push(env));
  const a = makeTransport('a', { peers: { b: { address: LOOPBACK, port: b.port } } });
  await a.start(() => {});
  const state = {
    b, a, delivered, events,
    /** How many envelopes the test expects delivered so far (all of type goodMsg.type). */
    goodMessages: 0,
    /** The good peer still gets through, and nothing else was ever delivered. */
    async goodStillWorks() {
      a.send({ to: { host: 'b', path: 'svc/echo' }, from: { host: 'a', path: 'client' }, msg: goodMsg });
      state.goodMessages++;
      assert.ok(await eventually(() => delivered.length >= state.goodMessages), 'the good peer no longer gets through');
      assert.equal(delivered.length, state.goodMessages, 'something besides the good peer\'s messages was delivered');
      assert.ok(delivered.every((e) => e.msg.type === goodMsg.type), 'a hostile message was delivered');
    },
    async close() {
      await Promise.all([a.close(), b.close()]);
    },
  };
  return state;
}

function rejected(t: WebSocketTransport, reason: RejectReason): number {
  return t.stats().rejected[reason] ?? 0;
}

describe('websocket transport security', { timeout: TEST_TIMEOUT_MS }, () => {
  it('refuses data sent before the handshake as unauthenticated and closes the socket', async () => {
    const s = await bench();
    try {
      await s.goodStillWorks();
      const raw = await RawPeer.connect(s.b.port);
      raw.ws.send(frames.encode([envTo('b', { type: 'Sneak' })]));
      assert.ok(await eventually(() => rejected(s.b, 'unauthenticated') === 1));
      assert.ok(await raw.closed(), 'the unauthenticated socket stayed open');
      assert.equal(raw.closeCode, 4001);
      assert.ok(s.events.some((e) => e.type === 'rejected' && e.reason === 'unauthenticated'), 'no rejected event');
      await s.goodStillWorks();
    } finally { await s.close(); }
  });

  it('refuses a hello made with the wrong secret', async () => {
    const s = await bench();
    try {
      const raw = await RawPeer.connect(s.b.port);
      await raw.handshake(Buffer.from('not-the-cluster-secret-at-all!!!'), 'spy', 'b');
      raw.ws.send(frames.encode([envTo('b', { type: 'Sneak' })]));
      assert.ok(await eventually(() => rejected(s.b, 'unauthenticated') === 1));
      assert.ok(await raw.closed());
      assert.equal(raw.inbox.length, 0, 'the server answered a wrong hello');
      await s.goodStillWorks();
    } finally { await s.close(); }
  });

  it('keeps a transport with the wrong secret out, and it reconnects without crashing', async () => {
    const s = await bench();
    const intruder = makeTransport('mallory', { secret: Buffer.from('not-the-cluster-secret-at-all!!!'), peers: { b: { address: LOOPBACK, port: s.b.port } } });
    const intruderEvents: TransportEvent[] = [];
    intruder.events.subscribe((e) => intruderEvents.push(e));
    await intruder.start(() => {});
    try {
      intruder.send(envTo('b', { type: 'Sneak' }));
      assert.ok(await eventually(() => rejected(s.b, 'unauthenticated') >= 2), 'the intruder did not keep retrying');
      assert.ok(!intruderEvents.some((e) => e.type === 'peerUp'), 'the intruder thinks it is connected');
      await s.goodStillWorks();
    } finally {
      await intruder.close();
      await s.close();
    }
  });

  it('refuses a recorded valid hello replayed on a new connection', async () => {
    const s = await bench();
    try {
      const first = await RawPeer.connect(s.b.port);
      const recorded = await first.handshake(SECRET, 'spy', 'b');
      first.close();
      const replay = await RawPeer.connect(s.b.port);
      await replay.next(); // a fresh challenge, which the recorded hello does not answer
      replay.ws.send(recorded);
      replay.ws.send(frames.encode([envTo('b', { type: 'Sneak' })]));
      assert.ok(await eventually(() => rejected(s.b, 'unauthenticated') === 1));
      assert.ok(await replay.closed());
      await s.goodStillWorks();
    } finally { await s.close(); }
  });

  it('refuses a server that cannot prove the secret (mutual authentication)', async () => {
    // An impostor listening where 'b' should be answers with a welcome it cannot have computed.
    const impostor = new WebSocketServer({ host: LOOPBACK, port: 0, perMessageDeflate: false });
    await new Promise((resolve) => impostor.once('listening', resolve));
    let framesStolen = 0;
    impostor.on('connection', (ws) => {
      ws.send(encodeHandshake({ t: 'challenge', serverNonce: randomBytes(16) }));
      ws.on('message', (data) => {
        const parsed = parseHandshake(data as Buffer);
        if (parsed.kind === 'ok' && parsed.msg.t === 'hello') ws.send(encodeHandshake({ t: 'welcome', mac: randomBytes(32) }));
        else framesStolen++;
      });
    });
    const port = (impostor.address() as { port: number }).port;
    const a = makeTransport('a', { peers: { b: { address: LOOPBACK, port } } });
    await a.start(() => {});
    try {
      a.send(envTo('b', { type: 'Secret' }));
      assert.ok(await eventually(() => rejected(a, 'unauthenticated') >= 1));
      await sleep(50);
      assert.equal(framesStolen, 0, 'an envelope was sent to an unauthenticated server');
    } finally {
      await a.close();
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('refuses a malformed or late handshake as bad-handshake', async () => {
    const s = await bench({ handshakeTimeoutMs: 200 });
    try {
      const malformed = await RawPeer.connect(s.b.port);
      malformed.ws.send(Buffer.concat([Buffer.from('SBH1'), Buffer.from('{not json')]));
      assert.ok(await eventually(() => rejected(s.b, 'bad-handshake') === 1));
      assert.ok(await malformed.closed());
      const silent = await RawPeer.connect(s.b.port);
      assert.ok(await eventually(() => rejected(s.b, 'bad-handshake') === 2, 1000), 'no handshake timeout');
      assert.ok(await silent.closed());
      await s.goodStillWorks();
    } finally { await s.close(); }
  });

  describe('after a valid handshake', () => {
    const cases: { name: string; reason: RejectReason; opts?: Partial<WebSocketTransportOptions>; payload: () => Buffer | string; closes?: boolean }[] = [
      { name: 'garbage bytes', reason: 'undecodable', payload: () => Buffer.concat([Buffer.from([0xff]), randomBytes(200)]) },
      { name: 'garbage behind a valid codec tag', reason: 'undecodable', payload: () => Buffer.concat([Buffer.from('J'), randomBytes(200)]) },
      {
        name: 'a truncated frame', reason: 'undecodable',
        payload: () => { const f = frames.encode([envTo('b', { type: 'Cut', text: 'x'.repeat(100) } as never)]); return f.subarray(0, f.length >> 1); },
      },
      { name: 'a text frame', reason: 'undecodable', payload: () => JSON.stringify([['b', 'svc/echo', null, null, { type: 'Text' }]]) },
      { name: 'an envelope addressed to another host', reason: 'misrouted', payload: () => frames.encode([envTo('b', { type: 'Ok' }), envTo('c', { type: 'Elsewhere' })]) },
      { name: 'a frame that is not an array of envelopes', reason: 'schema', payload: () => frames.encode({ type: 'Naked' } as never) },
      {
        name: 'a frame larger than maxFrameBytes', reason: 'oversized', opts: { maxFrameBytes: 4096 }, closes: true,
        payload: () => frames.encode([envTo('b', { type: 'Big', blob: 'x'.repeat(5000) } as never)]),
      },
    ];
    for (const c of cases) {
      it(`refuses ${c.name} as ${c.reason}`, async () => {
        const s = await bench(c.opts);
        try {
          const raw = await RawPeer.connect(s.b.port);
          await raw.handshake(SECRET, 'spy', 'b');
          raw.ws.send(c.payload());
          assert.ok(await eventually(() => rejected(s.b, c.reason) === 1), `not counted as ${c.reason}: ${JSON.stringify(s.b.stats().rejected)}`);
          const event = s.events.find((e) => e.type === 'rejected');
          assert.ok(event && event.type === 'rejected' && event.reason === c.reason && event.peer === 'spy');
          if (c.closes) assert.ok(await raw.closed(), 'the connection was not closed');
          else {
            // One bad frame does not cost the connection: a good frame on it still gets through.
            raw.ws.send(frames.encode([envTo('b', { type: 'Good' })]));
            s.goodMessages++;
          }
          await s.goodStillWorks();
          assert.equal(Object.values(s.b.stats().rejected).reduce((x, y) => x + y, 0), 1, 'counted more than once');
        } finally { await s.close(); }
      });
    }

    it('refuses a message that fails its registered schema', async () => {
      const schemas = new SchemaRegistry(true).add('Ping', Type.Object({ type: Type.Literal('Ping'), n: Type.Number() }));
      const s = await bench({ frames: new FrameCodec({ schemas }) }, { type: 'Ping', n: 1 } as never);
      try {
        const raw = await RawPeer.connect(s.b.port);
        await raw.handshake(SECRET, 'spy', 'b');
        raw.ws.send(frames.encode([envTo('b', { type: 'Ping', n: 'one' } as never)]));
        raw.ws.send(frames.encode([envTo('b', { type: 'Unknown' })]));
        assert.ok(await eventually(() => rejected(s.b, 'schema') === 2));
        await s.goodStillWorks();
      } finally { await s.close(); }
    });

    it('disconnects a peer that sends nothing but garbage, and logs it at most once a second', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line); } });
      const s = await bench({ logger });
      try {
        const raw = await RawPeer.connect(s.b.port);
        await raw.handshake(SECRET, 'spy', 'b');
        for (let i = 0; i < 100; i++) raw.ws.send(randomBytes(50));
        assert.ok(await raw.closed(), 'a garbage-only peer was never disconnected');
        const refusals = rejected(s.b, 'undecodable');
        assert.ok(refusals >= 64, `only ${refusals} refusals counted`);
        assert.equal(lines.filter((l) => l.includes('"reason":"undecodable"')).length, 1, 'refusals were not rate-limited in the log');
        await s.goodStillWorks();
      } finally { await s.close(); }
    });
  });

  it('survives bytes that are not WebSocket at all, and plain HTTP', async () => {
    const s = await bench();
    try {
      await new Promise<void>((resolve) => {
        const sock = netConnect(s.b.port, LOOPBACK, () => sock.write(Buffer.concat([Buffer.from('\x16\x03\x01garbage\r\n\r\n'), randomBytes(300)])));
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
      });
      const status = await new Promise<string>((resolve) => {
        const sock = netConnect(s.b.port, LOOPBACK, () => sock.write(`GET / HTTP/1.1\r\nHost: ${LOOPBACK}\r\n\r\n`));
        let text = '';
        sock.on('data', (d) => { text += d.toString(); sock.destroy(); });
        sock.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
        sock.on('error', () => resolve(''));
      });
      assert.match(status, /426/);
      assert.ok(rejected(s.b, 'bad-handshake') >= 1);
      await s.goodStillWorks();
    } finally { await s.close(); }
  });

  it('drops on send, without throwing, an envelope too large for one frame', async () => {
    const s = await bench({ maxFrameBytes: 4096 });
    const a = makeTransport('a2', { maxFrameBytes: 4096, peers: { b: { address: LOOPBACK, port: s.b.port } } });
    await a.start(() => {});
    try {
      a.send({ to: { host: 'b', path: 'svc' }, msg: { type: 'Big', blob: 'x'.repeat(5000) } as never });
      for (let i = 0; i < 200; i++) a.send({ to: { host: 'b', path: 'svc' }, msg: { type: 'Good', i } as never });
      assert.ok(await eventually(() => s.delivered.length === 200), `delivered ${s.delivered.length} of 200`);
      assert.equal(a.stats().dropped['oversized'], 1);
      assert.ok(a.stats().sentFrames > 1, 'a batch over maxFrameBytes was not split');
    } finally {
      await a.close();
      await s.close();
    }
  });
});

describe('websocket transport heartbeats', { timeout: TEST_TIMEOUT_MS }, () => {
  it('declares down a connected peer that stops answering pings, and keeps live ones up', async () => {
    const s = await bench({ heartbeatMs: 100 });
    const raw = await RawPeer.connect(s.b.port, { autoPong: false });
    try {
      await raw.handshake(SECRET, 'sleepy', 'b');
      await s.goodStillWorks();
      assert.ok(await eventually(() => s.events.some((e) => e.type === 'peerUp' && e.host === 'sleepy')));
      assert.ok(await eventually(() => s.events.some((e) => e.type === 'peerDown' && e.host === 'sleepy'), 1500), 'silent peer not declared down');
      const down = s.events.find((e) => e.type === 'peerDown' && e.host === 'sleepy');
      assert.ok(down?.type === 'peerDown' && /silent/.test(down.reason), `reason: ${JSON.stringify(down)}`);
      assert.ok(await raw.closed(), 'the silent peer\'s socket was not terminated');
      assert.ok(!s.events.some((e) => e.type === 'peerDown' && e.host === 'a'), 'a live peer was declared down');
      await s.goodStillWorks();
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('declares down a server that stops answering pings, and reconnects', async () => {
    // A hand-made 'b' that completes the handshake properly but never answers a ping.
    const server = new WebSocketServer({ host: LOOPBACK, port: 0, perMessageDeflate: false, autoPong: false });
    await new Promise((resolve) => server.once('listening', resolve));
    let connections = 0;
    server.on('connection', (ws) => {
      connections++;
      const serverNonce = randomBytes(16);
      ws.send(encodeHandshake({ t: 'challenge', serverNonce }));
      ws.once('message', (data) => {
        const parsed = parseHandshake(data as Buffer);
        if (parsed.kind !== 'ok' || parsed.msg.t !== 'hello') return;
        ws.send(encodeHandshake({ t: 'welcome', mac: serverMac(SECRET, parsed.msg.clientNonce, serverNonce, 'b') }));
      });
    });
    const port = (server.address() as { port: number }).port;
    const a = makeTransport('a', { heartbeatMs: 100, peers: { b: { address: LOOPBACK, port } } });
    const events: TransportEvent[] = [];
    a.events.subscribe((e) => events.push(e));
    await a.start(() => {});
    try {
      a.send(envTo('b', { type: 'Hello' }));
      assert.ok(await eventually(() => events.some((e) => e.type === 'peerUp')));
      assert.ok(await eventually(() => events.some((e) => e.type === 'peerDown'), 1500), 'silent server not declared down');
      assert.ok(await eventually(() => connections >= 2, 1500), 'no reconnect after the peer was declared down');
    } finally {
      await a.close();
      for (const ws of server.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('websocket transport over TLS (wss)', { timeout: TEST_TIMEOUT_MS }, () => {
  let dir = '';
  let tls: { cert: Buffer; key: Buffer; ca: Buffer } | null = null;
  let skipReason = '';

  before(() => {
    try {
      execFileSync('which', ['openssl'], { stdio: 'ignore' });
    } catch {
      skipReason = 'openssl is not installed: cannot make a self-signed certificate';
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'switchboard-wss-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', `subjectAltName=IP:${LOOPBACK}`], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    tls = { cert, key: readFileSync(join(dir, 'key.pem')), ca: cert };
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('carries envelopes over wss with a self-signed certificate, and refuses plain ws', async (t) => {
    if (!tls) return t.skip(skipReason);
    const b = makeTransport('b', { tls });
    const got: Envelope[] = [];
    await b.start((env) => got.push(env));
    const a = makeTransport('a', { tls, peers: { b: { address: LOOPBACK, port: b.port } } });
    await a.start(() => {});
    try {
      a.send({ to: { host: 'b', path: 'svc' }, msg: { type: 'OverTls', n: 1 } as never });
      assert.ok(await eventually(() => got.length === 1), 'nothing arrived over wss');
      assert.equal(got[0]!.msg.type, 'OverTls');
      const plain = new WebSocket(`ws://${LOOPBACK}:${b.port}/`);
      const failed = await new Promise<boolean>((resolve) => {
        plain.on('open', () => resolve(false));
        plain.on('error', () => resolve(true));
      });
      plain.terminate();
      assert.ok(failed, 'a plain ws client opened a socket on the wss port');
      assert.ok(await eventually(() => rejected(b, 'bad-handshake') >= 1));
      a.send({ to: { host: 'b', path: 'svc' }, msg: { type: 'OverTls', n: 2 } as never });
      assert.ok(await eventually(() => got.length === 2), 'wss stopped working after a plain client');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
