// `switchboard bench runtime`: what the runtime costs over its bare parts, measured in one run.
//   localVsNact            messages/s between two actors in local mode ÷ bare nact dispatch
//   simEventsPerSecVsNact  deliveries per wall second in sim (across hosts, trace on) ÷ bare nact
//   wsVsRaw                actor messages/s over the WebSocket transport between two processes ÷ raw ws
//   udpVsRaw               the same for UDP ÷ raw dgram datagrams/s
//   codecVsJson            encode+decode/s of the codec for a typical message ÷ JSON.stringify+parse
import { dispatch, spawn, spawnStateless, start, stop } from 'nact';
import superjson from 'superjson';
import WebSocket from 'ws';
import { createSocket } from 'node:dgram';
import { runLocal, runNode, runSim, type ActorRef } from '../actors/index.ts';
import { TypedCodec } from '../transport/codec.ts';
import { FrameCodec } from '../transport/frame.ts';
import { UdpTransport } from '../transport/udp/udp-transport.ts';
import { WebSocketTransport } from '../transport/websocket/websocket-transport.ts';
import { freePort, freePorts, freshSecret, startScript } from './children.ts';
import type { BenchOptions, BenchResult } from './types.ts';
import { counter, flowTopology, sender, typicalMessage, type CounterMsg, type FlowConfig, type SenderMsg } from './workloads.ts';

const PEER = new URL('./peer.ts', import.meta.url).pathname;

interface Summary { min: number; median: number; max: number; runs: number[] }

function summarise(runs: number[]): Summary {
  const s = [...runs].sort((a, b) => a - b);
  return { min: Math.round(s[0]!), median: Math.round(s[Math.floor(s.length / 2)]!), max: Math.round(s[s.length - 1]!), runs: runs.map(Math.round) };
}

async function repeat(times: number, f: () => Promise<number> | number): Promise<Summary> {
  const runs: number[] = [];
  for (let i = 0; i < times; i++) runs.push(await f());
  return summarise(runs);
}

// ---- in one process --------------------------------------------------------------------------

/** Bare nact: one actor dispatches `n` messages to another, which counts them. */
async function nactMsgsPerSec(n: number): Promise<number> {
  const system = start();
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const b = spawn(system, (count: number) => {
    if (count + 1 === n) done();
    return count + 1;
  }, 'b', { initialState: 0 });
  const a = spawnStateless(system, () => {
    for (let i = 0; i < n; i++) dispatch(b, { type: 'Data', seq: i });
  }, 'a');
  const t0 = performance.now();
  dispatch(a, { type: 'Go' });
  await finished;
  const ms = performance.now() - t0;
  stop(system);
  return (n / ms) * 1000;
}

/** The same through the runtime in local mode (same host: nact mailboxes, no network). */
async function localMsgsPerSec(n: number): Promise<number> {
  const f = flowTopology(true);
  const cfg: FlowConfig = { total: n, window: n, ackEvery: 0, burst: n };
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const counterRef = f.topology.actor<{ count: number; firstMs: number }, CounterMsg>(f.b, f.counterPath, counter(cfg, () => 0, (c) => { if (c === n) done(); }));
  const senderRef = f.topology.actor(f.a, f.senderPath, sender(counterRef, cfg, () => {}));
  const rt = runLocal(f.topology);
  const t0 = performance.now();
  rt.send(senderRef, { type: 'Go' });
  await finished;
  const ms = performance.now() - t0;
  await rt.shutdown();
  return (n / ms) * 1000;
}

/** Deliveries per wall second in sim mode, across two hosts (network model and trace hash on). */
function simDeliveriesPerSec(n: number, sameHost: boolean): number {
  const f = flowTopology(sameHost);
  const cfg: FlowConfig = { total: n, window: 1000, ackEvery: 100, burst: 1000 };
  const counterRef = f.topology.actor(f.b, f.counterPath, counter(cfg, () => 0));
  const senderRef: ActorRef<SenderMsg> = f.topology.actor(f.a, f.senderPath, sender(counterRef, cfg, () => {}));
  if (!sameHost) f.topology.link(f.a, f.b, { latencyMs: 0.05, jitterMs: 0.01 });
  const sim = runSim(f.topology, { seed: 1 });
  sim.send(senderRef, { type: 'Go' });
  const t0 = performance.now();
  sim.runUntilIdle();
  const ms = performance.now() - t0;
  const deliveries = sim.system.trace!.count;
  return (deliveries / ms) * 1000;
}

function codecOpsPerSec(n: number, encode: (v: unknown) => unknown, decode: (b: never) => unknown): number {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const enc = encode({ ...typicalMessage, msgNum: i });
    const dec = decode(enc as never) as { msgNum: number };
    sink += dec.msgNum;
  }
  const ms = performance.now() - t0;
  if (sink < 0) throw new Error('unreachable');
  return (n / ms) * 1000;
}

// ---- across two processes --------------------------------------------------------------------

const secretText = freshSecret();
const secret = Buffer.from(secretText, 'utf8');
const childEnv = { SWITCHBOARD_SECRET: secretText };

/** A frame the transports would send for one Data envelope: the payload raw sockets send too. */
function samplePayload(): Buffer {
  const frames = new FrameCodec();
  return frames.encode([{ to: { host: 'b', path: 'counter' }, from: { host: 'a', path: 'sender' }, msg: {
    type: 'Data', seq: 123456, key: 'key-456', value: 'v'.repeat(32), replyTo: { host: 'a', path: 'sender' },
  } as never }]);
}

async function rawWsMsgsPerSec(n: number, cfg: { window: number; ackEvery: number }): Promise<number> {
  const port = await freePort('tcp');
  const peer = startScript(PEER, ['raw-ws', String(port), String(n), String(cfg.ackEvery)]);
  try {
    await peer.next('ready', 15_000);
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
    const payload = samplePayload();
    let sent = 0;
    let acked = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < n && sent - acked < cfg.window) { ws.send(payload, { binary: true }); sent++; }
      };
      ws.on('message', (data: Buffer) => {
        acked = data.readUInt32BE(0);
        if (acked >= n) resolve(); else pump();
      });
      pump();
    });
    const ms = performance.now() - t0;
    ws.close();
    return (n / ms) * 1000;
  } finally {
    await peer.kill();
  }
}

export async function runtimeRemoteMsgsPerSec(kind: 'ws' | 'udp', n: number, cfg: FlowConfig): Promise<{ perSec: number; delivered: number }> {
  const portKind = kind === 'ws' ? 'tcp' : 'udp';
  const [portA, portB] = await freePorts(portKind, 2);
  const peer = startScript(PEER, ['node', kind, String(portA), String(portB), String(n), String(cfg.ackEvery)], childEnv);
  try {
    await peer.next('ready', 15_000);
    const f = flowTopology(false);
    let done!: () => void;
    const finished = new Promise<void>((r) => { done = r; });
    const counterRef = f.topology.actor(f.b, f.counterPath, counter(cfg, () => 0));
    const senderRef = f.topology.actor(f.a, f.senderPath, sender(counterRef, cfg, () => done()));
    const opts = {
      host: 'a', listen: { address: '127.0.0.1', port: portA }, peers: { b: { address: '127.0.0.1', port: portB } },
      secret, frames: new FrameCodec({ schemas: f.topology.schemas }),
    };
    const transport = kind === 'ws' ? new WebSocketTransport(opts) : new UdpTransport(opts);
    const node = await runNode(f.topology, 'a', { transport });
    const t0 = performance.now();
    node.send(senderRef, { type: 'Go' });
    await finished;
    let perSec: number;
    let delivered = n;
    if (kind === 'ws') {
      perSec = (n / (performance.now() - t0)) * 1000;
    } else {
      // Loss is real on UDP: count what arrived, over the time it took to arrive.
      const stats = await peer.next('stats', 30_000) as { count: number; spanMs: number };
      delivered = stats.count;
      perSec = (stats.count / Math.max(stats.spanMs, 1)) * 1000;
    }
    await node.shutdown();
    return { perSec, delivered };
  } finally {
    await peer.kill();
  }
}

export async function rawUdpMsgsPerSec(n: number, burst: number): Promise<{ perSec: number; delivered: number }> {
  const port = await freePort('udp');
  const peer = startScript(PEER, ['raw-udp', String(port)]);
  try {
    await peer.next('ready', 15_000);
    const sock = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
    const payload = samplePayload();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        for (let i = 0; i < burst && sent < n; i++, sent++) sock.send(payload, port, '127.0.0.1');
        if (sent < n) setImmediate(pump); else resolve();
      };
      pump();
    });
    const stats = await peer.next('stats', 30_000) as { count: number; spanMs: number };
    sock.close();
    return { perSec: (stats.count / Math.max(stats.spanMs, 1)) * 1000, delivered: stats.count };
  } finally {
    await peer.kill();
  }
}

// ---- the benchmark ---------------------------------------------------------------------------

export async function benchRuntime(opts: BenchOptions): Promise<BenchResult> {
  const q = opts.quick;
  const reps = q ? 1 : 5;
  const say = opts.progress ?? (() => {});
  const nLocal = q ? 100_000 : 300_000;
  const nSim = q ? 200_000 : 1_000_000;
  const nWs = q ? 100_000 : 300_000;
  const nUdp = q ? 100_000 : 300_000;
  const nCodec = q ? 100_000 : 500_000;
  const wsCfg = { window: 20_000, ackEvery: 1000 };
  const udpBurst = 64;

  say('codec ...');
  const codec = new TypedCodec();
  const codecRate = await repeat(reps, () => codecOpsPerSec(nCodec, (v) => codec.encode(v), (b: Buffer) => codec.decode(b)));
  const jsonRate = await repeat(reps, () => codecOpsPerSec(nCodec, (v) => JSON.stringify(v), (s: string) => JSON.parse(s)));
  const superjsonRate = await repeat(reps, () => codecOpsPerSec(nCodec, (v) => superjson.stringify(v), (s: string) => superjson.parse(s)));
  say('nact and local mode ...');
  const nact = await repeat(reps, () => nactMsgsPerSec(nLocal));
  const local = await repeat(reps, () => localMsgsPerSec(nLocal));
  say('sim mode ...');
  const sim = await repeat(reps, () => simDeliveriesPerSec(nSim, false));
  const simSameHost = await repeat(reps, () => simDeliveriesPerSec(nSim, true));
  say('WebSocket between two processes ...');
  const rawWs = await repeat(reps, () => rawWsMsgsPerSec(nWs, wsCfg));
  const ws = await repeat(reps, async () => (await runtimeRemoteMsgsPerSec('ws', nWs, { total: nWs, ...wsCfg, burst: 1000 })).perSec);
  say('UDP between two processes ...');
  const udpDelivered: number[] = [];
  const rawUdpDelivered: number[] = [];
  const rawUdp = await repeat(reps, async () => { const r = await rawUdpMsgsPerSec(nUdp, udpBurst); rawUdpDelivered.push(r.delivered); return r.perSec; });
  const udp = await repeat(reps, async () => {
    const r = await runtimeRemoteMsgsPerSec('udp', nUdp, { total: nUdp, window: nUdp, ackEvery: 0, burst: udpBurst });
    udpDelivered.push(r.delivered);
    return r.perSec;
  });

  const ratio = (a: Summary, b: Summary): number => Math.round((a.median / b.median) * 100) / 100;
  return {
    name: 'runtime',
    config: {
      quick: q, repetitions: reps, localMessages: nLocal, simMessages: nSim, wsMessages: nWs, udpMessages: nUdp, codecOps: nCodec,
      ws: wsCfg, udpBurstPerTurn: udpBurst, payloadBytes: samplePayload().length,
      node: process.version, note: 'medians of the runs; per-second figures; UDP counts only what arrived',
    },
    results: {
      nactMsgsPerSec: nact, localMsgsPerSec: local,
      simDeliveriesPerSec: sim, simSameHostDeliveriesPerSec: simSameHost,
      rawWsMsgsPerSec: rawWs, wsMsgsPerSec: ws,
      rawUdpMsgsPerSec: rawUdp, udpMsgsPerSec: udp,
      udpDeliveredFraction: udpDelivered.map((d) => Math.round((d / nUdp) * 1000) / 1000),
      rawUdpDeliveredFraction: rawUdpDelivered.map((d) => Math.round((d / nUdp) * 1000) / 1000),
      codecOpsPerSec: codecRate, jsonOpsPerSec: jsonRate, superjsonOpsPerSec: superjsonRate,
    },
    ratios: {
      localVsNact: ratio(local, nact),
      simEventsPerSecVsNact: ratio(sim, nact),
      wsVsRaw: ratio(ws, rawWs),
      udpVsRaw: ratio(udp, rawUdp),
      codecVsJson: ratio(codecRate, jsonRate),
      codecVsSuperjson: ratio(codecRate, superjsonRate),
    },
  };
}
