// The staged pipeline (one actor per stage) is the reference and the fused one (one actor) must
// be indistinguishable from it: under mixed random traffic through a 12-stage program, with
// queues overflowing and packets without a route, both deliver the same messages to the same
// hosts at the same virtual times and count the same drops; in local mode (real time) both
// deliver everything, in order per sender and receiver.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { behavior, probe, runLocal, runSim, type ActorRef, type Behavior, type Msg } from '../../actors/index.ts';
import {
  profile, rack, stageChain, stageChainSetup, type ControlReply, type Frame, type SwitchMode,
} from '../../switch-model/index.ts';
import { bothModes, stats } from './helpers.ts';

interface SenderCfg {
  readonly to: ActorRef<Msg>;
  readonly mac: number;
  readonly dsts: readonly number[];
  readonly count: number;
  /** Mean pause between frames; 0 sends everything in one turn. */
  readonly meanGapMs: number;
}

/** Sends `count` frames to random destinations, of random sizes, at random times. */
function sender(cfg: SenderCfg): Behavior<{ sent: number }, { type: 'Start' } | { type: 'Next' }> {
  return behavior({
    init: () => ({ sent: 0 }),
    receive: (s, _msg, ctx) => {
      let sent = s.sent;
      do {
        const frame: Frame = {
          type: 'Frame', ethSrc: cfg.mac, ethDst: cfg.dsts[Math.floor(ctx.random() * cfg.dsts.length)]!,
          sizeBytes: 64 + Math.floor(ctx.random() * 1437), payload: { type: 'Seq', from: cfg.mac, seq: sent } as Msg,
        };
        ctx.send(cfg.to, frame);
        sent++;
      } while (cfg.meanGapMs === 0 && sent < cfg.count);
      if (sent < cfg.count) ctx.startTimer('next', ctx.random() * 2 * cfg.meanGapMs, { type: 'Next' });
      return { sent };
    },
  });
}

function build(mode: SwitchMode, opts: { gapMs: number; count: number; bufferBytes?: number }) {
  const senders = ['s0', 's1', 's2'];
  const receivers = ['d0', 'd1', 'd2'];
  const r = rack({
    hosts: [...senders, ...receivers], program: stageChain(12), mode, peer: (host) => ({ host, path: 'probe/nic' }),
    profile: opts.bufferBytes ? profile({ queueBytesPerPort: opts.bufferBytes }) : undefined,
    setup: (hs) => stageChainSetup(hs.filter((h) => receivers.includes(h.name)).map((h) => ({ mac: h.mac, port: h.port }))),
  });
  for (const s of senders) r.topology.link(s, r.switchHost, { latencyMs: 0.01, jitterMs: 0.005 });
  // Destinations: the three receivers and one MAC nobody has (no route: dropped).
  const dsts = [...receivers.map((d) => r.host(d).mac), 0x0200000000ff];
  const refs = senders.map((s) => r.topology.actor(s, 'sender', sender({ to: r.host(s).ingress, mac: r.host(s).mac, dsts, count: opts.count, meanGapMs: opts.gapMs })));
  return { r, refs, receivers };
}

describe('staged and fused execution', () => {
  it('in sim: the same messages reach the same hosts at the same virtual times, with the same drops', async () => {
    const out = await bothModes(async (mode) => {
      const { r, refs, receivers } = build(mode, { gapMs: 0.00003, count: 400, bufferBytes: 8000 });
      const rt = runSim(r.topology, { seed: 11, logLevel: 'silent' });
      const probes = receivers.map((d) => probe<Frame>(rt, d, 'nic'));
      for (const s of refs) rt.send(s, { type: 'Start' });
      rt.runUntilIdle();
      const replies = probe<ControlReply>(rt, r.switchHost, 'ctl');
      const st = await stats({ rt, control: r.switch.control, replies });
      return { got: probes.map((p) => p.pending.map((x) => ({ msg: x.msg, atMs: x.atMs }))), drops: st.drops, tx: st.txPackets };
    });
    const delivered = out.got.reduce((n, g) => n + g.length, 0);
    assert.ok(out.drops['tail-drop']! > 0, 'the scenario should overflow a queue');
    assert.ok(out.drops['no-egress-port']! > 0, 'the scenario should send to an unknown MAC');
    assert.equal(delivered + out.drops['tail-drop']! + out.drops['no-egress-port']!, 3 * 400);
  });

  it('in sim: one seed gives one trace, byte for byte, in each mode', () => {
    const hash = (mode: SwitchMode, seed: number) => {
      const { r, refs, receivers } = build(mode, { gapMs: 0.0001, count: 100, bufferBytes: 8000 });
      const rt = runSim(r.topology, { seed, logLevel: 'silent' });
      for (const d of receivers) probe<Frame>(rt, d, 'nic');
      for (const s of refs) rt.send(s, { type: 'Start' });
      rt.runUntilIdle();
      return rt.traceHash();
    };
    for (const mode of ['staged', 'fused'] as const) {
      assert.equal(hash(mode, 3), hash(mode, 3));
      assert.notEqual(hash(mode, 3), hash(mode, 4));
    }
  });

  it('in local mode (real time): everything arrives, in order per sender and receiver, in both modes', async () => {
    const count = 300;
    await bothModes(async (mode) => {
      const { r, refs, receivers } = build(mode, { gapMs: 0, count });
      const rt = runLocal(r.topology, { seed: 5, logLevel: 'silent' });
      try {
        const probes = receivers.map((d) => probe<Frame>(rt, d, 'nic'));
        for (const s of refs) rt.send(s, { type: 'Start' });
        const replies = probe<ControlReply>(rt, r.switchHost, 'ctl');
        // Wait until the switch has handled all 900 frames (the ones to nobody are dropped).
        let tx = 0;
        let handled = 0;
        let drops: Record<string, number> = {};
        for (let i = 0; i < 200 && handled < 3 * count; i++) {
          const st = await stats({ rt, control: r.switch.control, replies });
          tx = st.txPackets.reduce((a, b) => a + b, 0);
          drops = st.drops;
          handled = tx + (drops['no-egress-port'] ?? 0);
        }
        assert.equal(handled, 3 * count, 'the switch handled every frame');
        assert.deepEqual(Object.entries(drops).filter(([k, n]) => k !== 'no-egress-port' && n > 0), [], 'no frame dropped but those to nobody');
        assert.ok(tx > count, `${tx} frames sent on`);
        // Then every frame it sent on reaches its receiver.
        const arrived = (): number => probes.reduce((n, p) => n + p.pending.length, 0);
        for (let i = 0; i < 500 && arrived() < tx; i++) await new Promise((res) => setTimeout(res, 10));
        assert.equal(arrived(), tx, 'every frame sent on arrived');
        // Per (sender, receiver): the sequence numbers, which must rise.
        const bySender = probes.map((p) => {
          const m: Record<number, number[]> = {};
          for (const x of p.pending) {
            const pl = x.msg.payload as unknown as { from: number; seq: number };
            (m[pl.from] ??= []).push(pl.seq);
          }
          for (const seqs of Object.values(m)) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
          return m;
        });
        // What was sent is decided by each sender's seeded stream, so both modes see the same.
        return bySender;
      } finally {
        await rt.shutdown();
      }
    });
  });
});
