// The traffic manager: multicast groups fan one packet out to their ports; a port's buffer
// overflows under a burst and tail-drops what does not fit (counted); recirculation is bounded;
// clones reach the control plane's subscribers; and delays in sim come from the timing model
// (pipeline latency, serialisation at the port's line rate, queueing). Both execution modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, type Msg } from '../../actors/index.ts';
import {
  defineProgram, PORT_CPU, profile, stage, TOFINO_LIKE, wireMs, type Frame, type PacketIn, type SwitchProgram,
} from '../../switch-model/index.ts';
import { bothModes, control, frame, mustControl, payloads, received, stats, world } from './helpers.ts';

interface Cmd { type: 'Cmd'; n: number; group?: number; port?: number; passes?: number; clone?: boolean }
interface Headers { cmd: Cmd; passes: number; rid: number; out: number }

/** Does what each packet's command says: multicast, unicast, recirculate, clone. */
function tmProgram(): SwitchProgram<Headers> {
  return defineProgram<Headers>({
    name: 'tm-test',
    parse: (msg) => (msg.type === 'Frame' ? { cmd: (msg as Frame).payload as unknown as Cmd, passes: 0, rid: -1, out: -1 } : undefined),
    deparse: (pkt) => ({
      ...(pkt.msg as Frame),
      payload: { type: 'Out', n: pkt.headers.cmd.n, rid: pkt.headers.rid, port: pkt.headers.out, passes: pkt.headers.passes, recirculations: pkt.meta.recirculations },
    }),
    // Commands are read-only: copies share them (the default deep copy would copy them too).
    cloneHeaders: (h) => ({ ...h }),
    ingress: [
      stage<Headers>('decide', {}, (pkt) => {
        const { cmd } = pkt.headers;
        const m = pkt.meta;
        if ((cmd.passes ?? 0) > pkt.headers.passes) {
          pkt.headers.passes++;
          m.recirculate = true;
          return;
        }
        if (cmd.clone) m.cloneToCpu = true;
        if (cmd.group) m.mcastGroup = cmd.group;
        else m.egressPort = cmd.port ?? 1;
      }),
    ],
    egress: [
      stage<Headers>('tag', {}, (pkt) => {
        pkt.headers.rid = pkt.meta.egressRid;
        pkt.headers.out = pkt.meta.egressPort;
      }),
    ],
  });
}

const cmd = (c: Omit<Cmd, 'type'>): Msg => ({ type: 'Cmd', ...c }) as Msg;

describe('multicast', () => {
  it('a group fans one packet out to each of its ports, in group order; an unset group drops', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 4, program: tmProgram(), mode });
      const h0 = w.hosts[0]!;
      await mustControl(w, (replyTo) => ({ type: 'MulticastGroupSet', group: 7, ports: [1, 2, 3], replyTo }));
      await mustControl(w, (replyTo) => ({ type: 'MulticastGroupSet', group: 8, ports: [3, 1], replyTo }));
      const bad = await control(w, (replyTo) => ({ type: 'MulticastGroupSet', group: 9, ports: [1, 4], replyTo }));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 1, group: 7 })));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 2, group: 8 })));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 3, group: 9 })));
      w.rt.runUntilIdle();
      // Shrink group 7: later packets reach only its new members.
      await mustControl(w, (replyTo) => ({ type: 'MulticastGroupSet', group: 7, ports: [2], replyTo }));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 4, group: 7 })));
      w.rt.runUntilIdle();
      return { got: received(w), stats: await stats(w), bad };
    });
    const ids = (h: string) => payloads(out.got[h]).map((p) => `${(p as unknown as { n: number }).n}/${(p as unknown as { rid: number }).rid}`);
    assert.deepEqual(ids('h0'), []);
    assert.deepEqual(ids('h1'), ['1/0', '2/1']);
    assert.deepEqual(ids('h2'), ['1/1', '4/0']);
    assert.deepEqual(ids('h3'), ['1/2', '2/0']);
    assert.deepEqual(out.stats.drops, { 'empty-multicast-group': 1 });
    assert.deepEqual(out.stats.txPackets, [0, 2, 2, 2]);
    assert.ok(!out.bad.ok && /no port 4 \(ports are 0..3\)/.test(out.bad.error));
  });
});

describe('queues', () => {
  it('an incast burst overflows the port buffer: what does not fit is tail-dropped and counted; the rest leaves at line rate', async () => {
    const bufferBytes = 10_000;
    const size = 1000;
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 3, program: tmProgram(), mode, profile: profile({ queueBytesPerPort: bufferBytes }) });
      // 100 packets from two hosts to h2, all at once.
      for (let n = 0; n < 100; n++) {
        const from = w.hosts[n % 2]!;
        w.rt.send(from.ingress, frame(from, 0, cmd({ n, port: 2 }), size));
      }
      w.rt.runUntilIdle();
      return { got: received(w), stats: await stats(w) };
    });
    // All arrive in the same instant. The first leaves the buffer at once (the port is idle);
    // ten more fill it; the other 89 find it full.
    const got = out.got.h2!;
    assert.equal(got.length, 11);
    assert.equal(out.stats.tailDrops[2], 89);
    assert.equal(out.stats.drops['tail-drop'], 89);
    assert.equal(out.stats.maxQueueBytes[2], bufferBytes);
    assert.deepEqual(payloads(got).map((p) => (p as unknown as { n: number }).n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Back to back at the line rate: one serialisation time apart.
    const wire = wireMs(size, TOFINO_LIKE.portGbps);
    for (let i = 1; i < got.length; i++) assert.ok(Math.abs(got[i]!.atMs - got[i - 1]!.atMs - wire) < 1e-12, `gap ${i}`);
  });

  it('delays come from the timing model: pipeline latency, then serialisation; a busy port queues, another port does not wait', async () => {
    const out = await bothModes((mode) => {
      const w = world({ hosts: 4, program: tmProgram(), mode, link: { latencyMs: 0.01 } });
      const h0 = w.hosts[0]!;
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 1, port: 1 }), 1500));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 2, port: 1 }), 1500));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 3, port: 2 }), 64));
      w.rt.runUntilIdle();
      return received(w);
    });
    const p = TOFINO_LIKE;
    const ingressMs = (p.parserLatencyNs + 1 * p.stageLatencyNs + p.tmLatencyNs) * 1e-6;
    const egressMs = (1 * p.stageLatencyNs + p.deparserLatencyNs) * 1e-6;
    const linkMs = 0.01;
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);
    close(out.h1![0]!.atMs, ingressMs + egressMs + wireMs(1500, 100) + linkMs);
    close(out.h1![1]!.atMs, ingressMs + egressMs + 2 * wireMs(1500, 100) + linkMs);
    close(out.h2![0]!.atMs, ingressMs + egressMs + wireMs(64, 100) + linkMs);
  });
});

describe('recirculation', () => {
  it('a packet may go around the recirculation port up to the bound; beyond it, it is dropped and counted', async () => {
    const max = TOFINO_LIKE.maxRecirculations;
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: tmProgram(), mode });
      const h0 = w.hosts[0]!;
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 1, passes: max, port: 1 })));
      w.rt.send(h0.ingress, frame(h0, 0, cmd({ n: 2, passes: 100, port: 1 })));
      w.rt.runUntilIdle();
      return { got: received(w), stats: await stats(w) };
    });
    assert.deepEqual(payloads(out.got.h1), [{ type: 'Out', n: 1, rid: 0, port: 1, passes: max, recirculations: max }]);
    assert.deepEqual(out.stats.drops, { 'recirculation-limit': 1 });
    assert.equal(out.stats.recirculated, 2 * max);
  });
});

describe('the CPU port', () => {
  it('clones reach PacketIn subscribers with their ingress port; PacketOut enters the pipeline from the CPU port', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 3, program: tmProgram(), mode });
      const cpu = probe<PacketIn>(w.rt, w.rack.switchHost, 'cpu');
      w.rt.send(w.control, { type: 'PacketInSubscribe', subscriber: cpu.ref });
      w.rt.runUntilIdle();
      const h1 = w.hosts[1]!;
      w.rt.send(h1.ingress, frame(h1, 0, cmd({ n: 1, port: 2, clone: true })));
      w.rt.send(w.control, { type: 'PacketOut', msg: frame(h1, 0, cmd({ n: 2, port: 0 })) });
      w.rt.runUntilIdle();
      return { got: received(w), cpu: cpu.pending.map((r) => ({ msg: r.msg, atMs: r.atMs })), stats: await stats(w) };
    });
    assert.equal(out.cpu.length, 1);
    const pin = out.cpu[0]!.msg as PacketIn;
    assert.equal(pin.switch, 'tor/switch');
    assert.equal(pin.ingressPort, 1);
    assert.equal((pin.msg as Frame).payload.type, 'Out');
    assert.deepEqual(payloads(out.got.h2).map((p) => (p as unknown as { n: number }).n), [1]);
    assert.deepEqual(payloads(out.got.h0).map((p) => (p as unknown as { n: number }).n), [2]);
    assert.equal(out.stats.toCpu, 1);
    assert.equal(out.stats.fromCpu, 1);
    assert.equal(PORT_CPU < 0, true);
  });
});
